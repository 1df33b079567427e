//! Rebuild when a migration changes (`sqlx::migrate!` embeds them in the
//! binary), and give `src/assets.rs` a hash of each file of `public/` that a
//! page refers to, so that its URL changes with its content.
use std::hash::{Hash, Hasher};

fn main() {
    println!("cargo:rerun-if-changed=migrations");
    for (file, name) in [("echarts.min.js", "ECHARTS"), ("echarts-full.min.js", "ECHARTS_FULL"), ("world.json", "WORLD")] {
        let path = format!("public/{file}");
        println!("cargo:rerun-if-changed={path}");
        let content = std::fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}"));
        // SipHash with fixed keys: the same bytes give the same version on every build.
        let mut hasher = std::hash::DefaultHasher::new();
        content.hash(&mut hasher);
        println!("cargo:rustc-env=VIGIL_VERSION_{name}={:016x}", hasher.finish());
    }
}
