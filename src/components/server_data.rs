//! Data a page loads through a server function, carried from the server's
//! render to the browser inside the page. It travels as JSON decoded from
//! bytes, as server functions' replies are: the browser's bundle then holds one
//! JSON decoder per type. (Leptos's default resource codec decodes from `&str`,
//! server functions from bytes; with both, every type's decoder was compiled
//! twice, ≈ 7 % of the bundle.)

use leptos::prelude::*;
use leptos::server::codee::{Decoder, Encoder};
use serde::{de::DeserializeOwned, Serialize};

/// JSON, decoded from the bytes of a string.
pub struct JsonBytes;

impl<T: Serialize> Encoder<T> for JsonBytes {
    type Error = serde_json::Error;
    type Encoded = String;

    fn encode(value: &T) -> Result<String, serde_json::Error> {
        serde_json::to_string(value)
    }
}

impl<T: DeserializeOwned> Decoder<T> for JsonBytes {
    type Error = serde_json::Error;
    type Encoded = str;

    fn decode(text: &str) -> Result<T, serde_json::Error> {
        serde_json::from_slice(text.as_bytes())
    }
}

/// A resource loaded from the server: fetched while the server renders the
/// page, read from the page while the browser hydrates it, fetched again when
/// `source` changes.
pub type ServerData<T> = Resource<T, JsonBytes>;

/// [`ServerData`] from `fetcher`, run with each value of `source`.
#[track_caller]
pub fn server_data<T, S, Fut>(
    source: impl Fn() -> S + Send + Sync + 'static,
    fetcher: impl Fn(S) -> Fut + Send + Sync + 'static,
) -> ServerData<T>
where
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
    S: PartialEq + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    Resource::new_with_options(source, fetcher, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_encoded_decodes_to_the_same_value() {
        let value: Result<Vec<(String, i64)>, String> = Ok(vec![("a \"quoted\" é".into(), -3)]);
        let text = <JsonBytes as Encoder<_>>::encode(&value).unwrap();
        let back: Result<Vec<(String, i64)>, String> = JsonBytes::decode(&text).unwrap();
        assert_eq!(back, value);
        assert!(<JsonBytes as Decoder<Vec<i64>>>::decode("[1,").is_err());
    }
}
