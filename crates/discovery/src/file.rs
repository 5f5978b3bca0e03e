//! File discovery: a YAML list of endpoints, polled for byte changes (robust to editors that
//! replace files by rename, and to filesystems whose change events are unreliable).

use crate::Publisher;
use serde::Deserialize;
use serde_saphyr::Spanned;
use std::path::PathBuf;
use std::time::Duration;
use switchyard_balance::EndpointSpec;

/// One entry of the file, as written: `- {address: "10.0.0.1:8080", weight: 2, zone: a}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileEndpoint {
    address: Spanned<String>,
    #[serde(default)]
    weight: Option<Spanned<u32>>,
    #[serde(default)]
    zone: Option<String>,
}

/// Parses the file's text; an error reads `FILE:LINE:COLUMN: message`. An empty document is
/// an empty list.
pub(crate) fn parse(text: &str, file: &str) -> Result<Vec<EndpointSpec>, String> {
    let entries: Option<Vec<FileEndpoint>> = serde_saphyr::from_str(text).map_err(|e| {
        let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
        format!(
            "{file}:{line}:{column}: {}",
            switchyard_config::yaml_message(&e)
        )
    })?;
    entries
        .unwrap_or_default()
        .into_iter()
        .map(|e| {
            let at = |l: &serde_saphyr::Location| format!("{file}:{}:{}", l.line(), l.column());
            if !is_host_port(&e.address.value) {
                return Err(format!(
                    "{}: `{}` is not a host:port such as 127.0.0.1:9000",
                    at(&e.address.referenced),
                    e.address.value
                ));
            }
            let weight = match e.weight {
                None => 1,
                Some(w) if w.value == 0 => {
                    return Err(format!("{}: weight must be at least 1", at(&w.referenced)));
                }
                Some(w) => w.value,
            };
            Ok(EndpointSpec {
                address: e.address.value,
                weight,
                zone: e.zone,
            })
        })
        .collect()
}

/// The same check as the config's static endpoints.
fn is_host_port(address: &str) -> bool {
    address
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0))
}

/// What the watcher last saw.
#[derive(PartialEq)]
enum Seen {
    Nothing,
    /// The file could not be read (already reported).
    Unreadable,
    Bytes(Vec<u8>),
}

/// Reads one file into one cluster's channel.
pub(crate) struct Watcher {
    path: PathBuf,
    name: String,
    publisher: Publisher,
    last: Seen,
}

impl Watcher {
    /// Reads the file once, at once, so the cluster starts with its list.
    pub(crate) fn new(path: PathBuf, publisher: Publisher) -> Self {
        let name = path.display().to_string();
        let mut watcher = Self {
            path,
            name,
            publisher,
            last: Seen::Nothing,
        };
        watcher.check();
        watcher
    }

    /// Polls every `interval` until the cluster is dropped.
    pub(crate) async fn run(mut self, interval: Duration) {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await;
        loop {
            ticker.tick().await;
            if self.publisher.is_closed() {
                return;
            }
            self.check();
        }
    }

    /// Reads the file and, when its bytes changed, parses and offers it. An unreadable file is
    /// reported once, not at every poll.
    fn check(&mut self) {
        let bytes = match std::fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) => {
                if self.last != Seen::Unreadable {
                    tracing::warn!(
                        cluster = %self.publisher.cluster(),
                        file = %self.name,
                        "cannot read the endpoints file, keeping the last good list: {e}"
                    );
                    self.last = Seen::Unreadable;
                }
                return;
            }
        };
        if matches!(&self.last, Seen::Bytes(last) if *last == bytes) {
            return;
        }
        let parsed = std::str::from_utf8(&bytes)
            .map_err(|e| format!("{}: not UTF-8: {e}", self.name))
            .and_then(|text| parse(text, &self.name));
        self.last = Seen::Bytes(bytes);
        match parsed {
            Ok(list) => {
                self.publisher.offer(&self.name, list);
            }
            Err(e) => tracing::warn!(
                cluster = %self.publisher.cluster(),
                "bad endpoints file, keeping the last good list: {e}"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::start_with;
    use switchyard_config::Discovery;
    use tokio::sync::watch;

    const POLL: Duration = Duration::from_millis(20);
    const WAIT: Duration = Duration::from_secs(5);

    fn spec(address: &str, weight: u32, zone: Option<&str>) -> EndpointSpec {
        EndpointSpec {
            address: address.to_owned(),
            weight,
            zone: zone.map(str::to_owned),
        }
    }

    /// A fresh path in the temp dir, removed when dropped.
    struct TempFile(PathBuf);

    impl TempFile {
        fn new(name: &str) -> Self {
            let path = std::env::temp_dir().join(format!(
                "switchyard-discovery-{}-{name}.yaml",
                std::process::id()
            ));
            let _ = std::fs::remove_file(&path);
            Self(path)
        }

        fn discovery(&self) -> Discovery {
            Discovery::File(self.0.display().to_string())
        }

        /// Writes by rename, as editors do, so the watcher never sees half a file.
        fn write(&self, text: &str) {
            let tmp = self.0.with_extension("tmp");
            std::fs::write(&tmp, text).unwrap();
            std::fs::rename(&tmp, &self.0).unwrap();
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    async fn wait_for(rx: &mut watch::Receiver<Vec<EndpointSpec>>, want: &[EndpointSpec]) {
        let found = tokio::time::timeout(WAIT, rx.wait_for(|list| list == want))
            .await
            .is_ok();
        assert!(found, "wanted {want:?}, have {:?}", *rx.borrow());
    }

    /// Lets the watcher poll a few times.
    async fn a_few_polls() {
        tokio::time::sleep(POLL * 5).await;
    }

    #[test]
    fn parses_entries_with_defaults() {
        let text = "- {address: \"127.0.0.1:9001\", weight: 2, zone: a}\n\
                    - address: backend.internal:80\n";
        let list = parse(text, "eps.yaml").unwrap();
        assert_eq!(
            list,
            [
                spec("127.0.0.1:9001", 2, Some("a")),
                spec("backend.internal:80", 1, None)
            ]
        );
    }

    #[test]
    fn an_empty_document_is_an_empty_list() {
        assert_eq!(parse("", "f").unwrap(), []);
        assert_eq!(parse("# nothing yet\n", "f").unwrap(), []);
        assert_eq!(parse("[]", "f").unwrap(), []);
    }

    #[test]
    fn errors_name_the_file_and_line() {
        let unknown = "- address: a:1\n- address: b:2\n  wieght: 3\n";
        let e = parse(unknown, "eps.yaml").unwrap_err();
        assert!(e.starts_with("eps.yaml:3:"), "{e}");
        assert!(e.contains("wieght"), "{e}");

        let bad_address = "- address: a:1\n- address: nope\n";
        let e = parse(bad_address, "eps.yaml").unwrap_err();
        assert!(e.starts_with("eps.yaml:2:"), "{e}");
        assert!(e.contains("`nope` is not a host:port"), "{e}");

        let zero = "- address: a:1\n\n- {address: b:2, weight: 0}\n";
        let e = parse(zero, "eps.yaml").unwrap_err();
        assert!(e.starts_with("eps.yaml:3:"), "{e}");
        assert!(e.contains("weight must be at least 1"), "{e}");

        let e = parse("address: a:1\n", "eps.yaml").unwrap_err();
        assert!(e.starts_with("eps.yaml:1:"), "not a list: {e}");
    }

    #[tokio::test]
    async fn file_discovery_follows_the_file_and_keeps_the_last_good_list() {
        let file = TempFile::new("follows");
        file.write("- {address: \"127.0.0.1:9001\", weight: 2, zone: a}\n");
        let d = start_with("c", &file.discovery(), Vec::new(), POLL);
        let mut rx = d.endpoints.clone();
        assert!(d.is_dynamic());
        assert_eq!(
            *rx.borrow_and_update(),
            [spec("127.0.0.1:9001", 2, Some("a"))],
            "the file is read before start returns"
        );

        file.write("- address: 127.0.0.1:9001\n- address: 127.0.0.1:9002\n");
        let two = [
            spec("127.0.0.1:9001", 1, None),
            spec("127.0.0.1:9002", 1, None),
        ];
        wait_for(&mut rx, &two).await;

        file.write("- {address: 127.0.0.1:9003\n  garbage: [\n");
        a_few_polls().await;
        assert_eq!(*rx.borrow(), two, "a bad file keeps the last good list");
        assert!(!rx.has_changed().unwrap(), "and publishes nothing");

        file.write("");
        a_few_polls().await;
        assert_eq!(*rx.borrow(), two, "an empty file keeps the last good list");

        std::fs::remove_file(&file.0).unwrap();
        a_few_polls().await;
        assert_eq!(*rx.borrow(), two, "a missing file keeps the last good list");

        file.write("- address: 127.0.0.1:9004\n");
        wait_for(&mut rx, &[spec("127.0.0.1:9004", 1, None)]).await;
    }

    #[tokio::test]
    async fn an_unchanged_list_is_not_republished() {
        let file = TempFile::new("unchanged");
        file.write("- address: 127.0.0.1:9001\n");
        let d = start_with("c", &file.discovery(), Vec::new(), POLL);
        let mut rx = d.endpoints.clone();
        rx.mark_unchanged();
        file.write("# same endpoints, other bytes\n- address: 127.0.0.1:9001\n");
        a_few_polls().await;
        assert!(!rx.has_changed().unwrap());
    }

    #[tokio::test]
    async fn static_endpoints_stand_until_the_file_appears() {
        let file = TempFile::new("appears");
        let seed = vec![spec("10.0.0.1:80", 1, None)];
        let d = start_with("c", &file.discovery(), seed.clone(), POLL);
        let mut rx = d.endpoints.clone();
        assert_eq!(*rx.borrow(), seed);
        file.write("- address: 127.0.0.1:9005\n");
        wait_for(&mut rx, &[spec("127.0.0.1:9005", 1, None)]).await;
    }

    #[tokio::test]
    async fn dropping_discovered_stops_the_watcher() {
        let file = TempFile::new("drop");
        file.write("- address: 127.0.0.1:9001\n");
        let d = start_with("c", &file.discovery(), Vec::new(), POLL);
        let mut rx = d.endpoints.clone();
        drop(d);
        file.write("- address: 127.0.0.1:9002\n");
        a_few_polls().await;
        assert_eq!(*rx.borrow_and_update(), [spec("127.0.0.1:9001", 1, None)]);
        let changed = tokio::time::timeout(WAIT, rx.changed()).await;
        assert!(
            matches!(changed, Ok(Err(_))),
            "the sender is gone with the task"
        );
    }
}
