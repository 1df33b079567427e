//! The fixed vocabularies of the event model, as enums serialised to the same
//! strings the API and the database have always used: an event's category,
//! outcome and actor type, and a console user's role.

/// Declares an enum whose variants stand for fixed strings: serde and (on the
/// server) sqlx read and write those strings, `ALL` lists the variants,
/// `as_str` and `parse` convert.
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident { $($(#[$variant_meta:meta])* $variant:ident = $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[cfg_attr(feature = "ssr", derive(sqlx::Type), sqlx(type_name = "text"))]
        pub enum $name {
            $($(#[$variant_meta])* #[serde(rename = $text)] #[cfg_attr(feature = "ssr", sqlx(rename = $text))] $variant,)*
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }

            pub fn parse(text: &str) -> Option<$name> {
                $name::ALL.iter().copied().find(|v| v.as_str() == text)
            }

            /// Every value, as `a, b or c` for error messages and documentation.
            pub fn choices() -> String {
                let names: Vec<&str> = $name::ALL.iter().map(|v| v.as_str()).collect();
                match names.split_last() {
                    Some((last, [])) => last.to_string(),
                    Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
                    None => String::new(),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

vocabulary!(
    /// What kind of thing an event records.
    Category {
        /// Someone read or used something (an API call, a query, a download).
        Access = "access",
        /// Something was created, changed or deleted.
        Change = "change",
        /// Sign-in, sign-out and session lifecycle.
        Session = "session",
        /// The platform itself (servers, jobs, configuration).
        System = "system",
    }
);

vocabulary!(
    /// How an event ended.
    Outcome {
        Success = "success",
        Failure = "failure",
        /// Refused by an access rule.
        Denied = "denied",
    }
);

vocabulary!(
    /// Who acted.
    ActorType {
        User = "user",
        ApiKey = "api_key",
        Service = "service",
        Workflow = "workflow",
        System = "system",
    }
);

vocabulary!(
    /// What a console user may do.
    #[derive(Default)]
    Role {
        /// Everything, including settings.
        Admin = "admin",
        /// Read-only, all data.
        Auditor = "auditor",
        /// Read-only, restricted to the environments and organizations of their scope.
        #[default]
        Viewer = "viewer",
    }
);

vocabulary!(
    /// How an availability check reaches a service.
    CheckKind {
        /// An HTTP(S) request: status range, keyword, certificate expiry.
        Http = "http",
        /// A TCP connection to host:port.
        Tcp = "tcp",
        /// A name that resolves (optionally to an expected address).
        Dns = "dns",
        /// The service calls Vigil at least every interval.
        Heartbeat = "heartbeat",
    }
);

vocabulary!(
    /// Whether a service is reachable, by its recent checks.
    ServiceState {
        /// Not enough checks yet.
        Unknown = "unknown",
        Up = "up",
        Down = "down",
    }
);

vocabulary!(
    /// What an alert rule watches.
    AlertKind {
        /// Every new event that matches an explorer view.
        Match = "match",
        /// More than a threshold of matching events within a window.
        Count = "count",
        /// No matching event within a window: a source that stopped sending.
        Silence = "silence",
        /// A service goes down.
        ServiceDown = "service_down",
        /// A service's TLS certificate expires within 14 days.
        Certificate = "certificate",
    }
);

impl AlertKind {
    /// Whether a rule of this kind watches an explorer view (the others watch services).
    pub fn watches_view(self) -> bool {
        matches!(self, AlertKind::Match | AlertKind::Count | AlertKind::Silence)
    }
}

vocabulary!(
    /// What a count rule counts separately, or a silence rule watches
    /// separately (where events come from: an environment, organization or app).
    GroupBy {
        User = "user",
        Ip = "ip",
        Environment = "environment",
        Organization = "organization",
        App = "app",
    }
);

impl GroupBy {
    /// Whether groups are where events come from (an environment,
    /// organization or app), which a silence rule can watch one by one.
    pub fn is_source(self) -> bool {
        matches!(self, GroupBy::Environment | GroupBy::Organization | GroupBy::App)
    }

    /// The explorer's filter that shows one group's events (`EventFilter::with`).
    pub fn filter_key(self) -> &'static str {
        match self {
            GroupBy::User => "user",
            GroupBy::Ip => "ip",
            GroupBy::Environment => "env",
            GroupBy::Organization => "org",
            GroupBy::App => "app",
        }
    }
}

vocabulary!(
    /// Where notifications go.
    ChannelKind {
        /// A JSON POST signed with the channel's secret.
        Webhook = "webhook",
        /// An e-mail through the SMTP server of Settings.
        Email = "email",
    }
);

vocabulary!(
    /// How Vigil talks to the SMTP server.
    TlsMode {
        /// Plain SMTP (a relay on the same host).
        None = "none",
        /// Plain, upgraded with STARTTLS (port 587).
        Starttls = "starttls",
        /// TLS from the start (port 465).
        Tls = "tls",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_value_reads_and_writes_as_its_string() {
        for outcome in Outcome::ALL {
            assert_eq!(Outcome::parse(outcome.as_str()), Some(*outcome));
            assert_eq!(serde_json::to_value(outcome).unwrap(), outcome.as_str());
        }
        assert_eq!(serde_json::from_str::<ActorType>("\"api_key\"").unwrap(), ActorType::ApiKey);
        assert_eq!(Category::parse("Access"), None);
        assert_eq!(Outcome::choices(), "success, failure or denied");
    }
}
