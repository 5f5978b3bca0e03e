//! A throwaway PostgreSQL server (the real one, from the Debian `postgresql` package) in a temp
//! directory, on a free loopback port, without durability; stopped and removed when dropped.
//!
//! `initdb` refuses to run as root, so as root the server's commands run as the `postgres`
//! user (`runuser`), which owns the directory.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A running PostgreSQL server; `url()` connects as the superuser `postgres` without password.
#[derive(Debug)]
pub struct PostgresServer {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    as_postgres: bool,
}

impl PostgresServer {
    /// Creates a cluster and starts it; panics with a hint when PostgreSQL is not installed.
    pub fn start() -> Self {
        let mut server = Self {
            bin: bin_dir(),
            dir: temp_dir(),
            port: free_port(),
            as_postgres: is_root(),
        };
        server.prepare_dir();
        server.init();
        // Another test may take the free port before the server binds it: try a new one.
        for _ in 0..2 {
            if server.pg_ctl_start().is_ok() {
                return server;
            }
            server.port = free_port();
        }
        if let Err(failure) = server.pg_ctl_start() {
            panic!("{failure}");
        }
        server
    }

    /// `postgresql://postgres@127.0.0.1:PORT/postgres`.
    pub fn url(&self) -> String {
        format!("postgresql://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn prepare_dir(&self) {
        std::fs::create_dir_all(&self.dir).expect("a temp dir for PostgreSQL");
        if self.as_postgres {
            let status = Command::new("chown")
                .arg("postgres:")
                .arg(&self.dir)
                .status()
                .expect("chown");
            assert!(status.success(), "chown postgres {}", self.dir.display());
        }
    }

    fn init(&self) {
        let data = self.dir.join("data");
        let mut initdb = self.command("initdb");
        initdb.arg("-D").arg(&data);
        initdb.args(["-A", "trust", "-U", "postgres", "-E", "UTF8"]);
        initdb.args(["--no-locale", "--no-sync"]);
        if let Err(failure) = self.run(initdb, "initdb") {
            panic!("{failure}");
        }
    }

    fn pg_ctl_start(&self) -> Result<(), String> {
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {} -c fsync=off -c synchronous_commit=off \
             -c full_page_writes=off",
            self.port,
            self.dir.display()
        );
        let mut pg_ctl = self.command("pg_ctl");
        pg_ctl.arg("-D").arg(self.dir.join("data"));
        pg_ctl.arg("-l").arg(self.dir.join("server.log"));
        pg_ctl.args(["-w", "-t", "30", "-o", &options, "start"]);
        self.run(pg_ctl, "pg_ctl start")
    }

    /// `program` from the server's bin directory, as `postgres` when we are root.
    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        let mut command = if self.as_postgres {
            let mut runuser = Command::new("runuser");
            runuser.args(["-u", "postgres", "--"]).arg(path);
            runuser
        } else {
            Command::new(path)
        };
        command.stdin(Stdio::null());
        command
    }

    /// Runs `command`; on failure, its output and the server log.
    fn run(&self, mut command: Command, what: &str) -> Result<(), String> {
        let output = command.output().map_err(|e| format!("{what}: {e}"))?;
        if output.status.success() {
            return Ok(());
        }
        let log = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
        Err(format!(
            "{what} failed: {}\n{}\nserver.log:\n{log}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        let mut pg_ctl = self.command("pg_ctl");
        pg_ctl.arg("-D").arg(self.dir.join("data"));
        pg_ctl.args(["-m", "fast", "-w", "stop"]);
        let _ = pg_ctl.stdout(Stdio::null()).stderr(Stdio::null()).status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The newest `/usr/lib/postgresql/N/bin`.
fn bin_dir() -> PathBuf {
    let versions = std::fs::read_dir("/usr/lib/postgresql").ok();
    let newest = versions
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .max();
    match newest {
        Some((_, bin)) => bin,
        None => panic!(
            "PostgreSQL is needed for this test: no /usr/lib/postgresql/*/bin/initdb \
             (apt-get install postgresql)"
        ),
    }
}

fn temp_dir() -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let name = format!(
        "switchyard-pg-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    Path::new("/tmp").join(name)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

fn is_root() -> bool {
    let output = Command::new("id").arg("-u").output().expect("id -u");
    String::from_utf8_lossy(&output.stdout).trim() == "0"
}
