//! Running a server under a watchdog, as an unprivileged user when we are root.

use std::ffi::OsString;
use std::fs::File;
use std::io::Read;
use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use crate::ServerError;

/// The watchdog: start the server, wait until our stdin closes (we stopped it or
/// we died), then stop the server with the given signal.
const WATCHDOG: &str = r#"sig=$1; shift
"$@" &
pid=$!
read -r _ || true
kill -s "$sig" "$pid" 2>/dev/null
wait "$pid"
"#;

/// The janitor: when our stdin closes, wait (bounded) until a lock file is gone
/// (the server has stopped), then remove a throwaway directory.
const JANITOR: &str = r#"read -r _ || true
n=0
while [ -e "$2" ] && [ $n -lt 300 ]; do sleep 0.1; n=$((n+1)); done
rm -rf "$1"
"#;

/// Whether this process runs as root (effective uid 0).
pub fn is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

/// A free TCP port on 127.0.0.1 (free when asked; servers retry if they lose the race).
pub fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Call `launch` with free ports until one is not lost to another process (a few tries).
pub(crate) fn on_free_port<T>(
    mut launch: impl FnMut(u16) -> Result<T, ServerError>,
) -> Result<T, ServerError> {
    let mut tries = 0;
    loop {
        let port = free_port().map_err(ServerError::io("finding a free port on", "127.0.0.1"))?;
        match launch(port) {
            Err(e) if tries < 5 && e.to_string().contains("already in use") => tries += 1,
            other => return other,
        }
    }
}

/// [`on_free_port`] for a server that also listens on its port + `offset` (a
/// Redis Cluster node's bus): both ports free, the higher one a valid port.
pub(crate) fn on_free_port_pair<T>(
    offset: u16,
    mut launch: impl FnMut(u16) -> Result<T, ServerError>,
) -> Result<T, ServerError> {
    let mut tries = 0;
    loop {
        let port = free_port().map_err(ServerError::io("finding a free port on", "127.0.0.1"))?;
        let Some(other) = port.checked_add(offset) else {
            continue;
        };
        if TcpListener::bind(("127.0.0.1", other)).is_err() {
            continue;
        }
        match launch(port) {
            Err(e) if tries < 5 && e.to_string().contains("already in use") => tries += 1,
            other => return other,
        }
    }
}

/// A system user from `/etc/passwd`.
#[derive(Debug, Clone)]
pub(crate) struct User {
    pub(crate) name: String,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
}

impl User {
    /// The unprivileged user to run servers as when we are root: `postgres`, else `nobody`.
    pub(crate) fn unprivileged() -> Result<User, ServerError> {
        let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
        let users: Vec<User> = passwd.lines().filter_map(parse_passwd_line).collect();
        ["postgres", "nobody"]
            .iter()
            .find_map(|want| users.iter().find(|u| u.name == *want).cloned())
            .ok_or(ServerError::NoUnprivilegedUser)
    }

    /// Give `path` to this user.
    pub(crate) fn own(&self, path: &Path) -> Result<(), ServerError> {
        std::os::unix::fs::chown(path, Some(self.uid), Some(self.gid))
            .map_err(ServerError::io("changing the owner of", path))
    }

    /// Whether this user can reach (search) every directory above `path`.
    pub(crate) fn can_reach(&self, path: &Path) -> bool {
        path.ancestors()
            .skip(1)
            .all(|dir| match std::fs::metadata(dir) {
                Ok(meta) => {
                    let mode = meta.mode();
                    if meta.uid() == self.uid {
                        mode & 0o100 != 0
                    } else if meta.gid() == self.gid {
                        mode & 0o010 != 0
                    } else {
                        mode & 0o001 != 0
                    }
                }
                Err(_) => true,
            })
    }
}

fn parse_passwd_line(line: &str) -> Option<User> {
    let mut fields = line.split(':');
    let name = fields.next()?.to_owned();
    let _password = fields.next()?;
    let uid = fields.next()?.parse().ok()?;
    let gid = fields.next()?.parse().ok()?;
    Some(User { name, uid, gid })
}

/// A command to run, optionally as another user.
pub(crate) fn command(program: &Path, run_as: Option<&User>) -> Command {
    match run_as {
        Some(user) => {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", &user.name, "--"]).arg(program);
            cmd
        }
        None => Command::new(program),
    }
}

/// Run a short helper command to completion, turning a failure into an error with its output.
pub(crate) fn run_to_completion(cmd: Command) -> Result<(), ServerError> {
    output_of(cmd).map(drop)
}

/// What a short helper command printed on stdout; a failure is an error with
/// its whole output.
pub(crate) fn output_of(mut cmd: Command) -> Result<String, ServerError> {
    let shown = format!("{cmd:?}");
    let output = cmd.output().map_err(|e| ServerError::Command {
        command: shown.clone(),
        output: e.to_string(),
    })?;
    if output.status.success() {
        return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
    }
    Err(ServerError::Command {
        command: shown,
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    })
}

/// How to start one supervised server.
#[derive(Debug)]
pub(crate) struct Launch<'a> {
    pub(crate) name: &'static str,
    pub(crate) program: &'a Path,
    pub(crate) args: Vec<OsString>,
    pub(crate) run_as: Option<&'a User>,
    pub(crate) cwd: &'a Path,
    pub(crate) log: PathBuf,
    pub(crate) stop_signal: &'static str,
}

/// A server process under its watchdog. Dropping it stops the server.
#[derive(Debug)]
pub(crate) struct Supervised {
    name: &'static str,
    child: Child,
    stdin: Option<ChildStdin>,
    log: PathBuf,
}

impl Supervised {
    pub(crate) fn spawn(launch: Launch<'_>) -> Result<Supervised, ServerError> {
        let log = File::create(&launch.log).map_err(ServerError::io("creating", &launch.log))?;
        let log_err = log
            .try_clone()
            .map_err(ServerError::io("opening", &launch.log))?;
        let mut cmd = command(Path::new("sh"), launch.run_as);
        cmd.arg("-c")
            .arg(WATCHDOG)
            .arg("sh")
            .arg(launch.stop_signal)
            .arg(launch.program)
            .args(&launch.args)
            .current_dir(launch.cwd)
            .stdin(Stdio::piped())
            .stdout(log)
            .stderr(log_err)
            // Its own process group: a terminal's Ctrl-C reaches only our process,
            // which then shuts down in order and stops the server last.
            .process_group(0);
        let mut child = cmd.spawn().map_err(|e| ServerError::Command {
            command: format!("{cmd:?}"),
            output: e.to_string(),
        })?;
        let stdin = child.stdin.take();
        Ok(Supervised {
            name: launch.name,
            child,
            stdin,
            log: launch.log,
        })
    }

    /// Wait until the server's log contains `needle`.
    pub(crate) fn wait_ready(
        &mut self,
        needle: &str,
        timeout: Duration,
    ) -> Result<(), ServerError> {
        let deadline = Instant::now() + timeout;
        loop {
            let log = read_lossy(&self.log);
            if log.contains(needle) {
                return Ok(());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(self.not_ready(format!("it exited ({status})")));
            }
            if Instant::now() >= deadline {
                return Err(self.not_ready(format!("not ready after {timeout:?}")));
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// The whole log so far.
    pub(crate) fn log(&self) -> String {
        read_lossy(&self.log)
    }

    fn not_ready(&self, reason: String) -> ServerError {
        let log = read_lossy(&self.log);
        let lines: Vec<&str> = log.lines().collect();
        let tail = lines[lines.len().saturating_sub(15)..].join("\n");
        ServerError::NotReady {
            server: self.name,
            reason,
            log_tail: tail,
        }
    }

    /// Stop the server and wait for it (and the watchdog's clean-up) to finish.
    pub(crate) fn stop(&mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            match self.child.try_wait() {
                Ok(Some(_)) | Err(_) => return,
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Supervised {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Removes a throwaway directory when dropped, or when this process dies.
#[derive(Debug)]
pub(crate) struct Janitor {
    child: Child,
    stdin: Option<ChildStdin>,
}

impl Janitor {
    /// Remove `dir` once `lock` (a file the server deletes on exit) is gone.
    pub(crate) fn spawn(dir: &Path, lock: &Path) -> Result<Janitor, ServerError> {
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(JANITOR)
            .arg("sh")
            .arg(dir)
            .arg(lock)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0);
        let mut child = cmd
            .spawn()
            .map_err(ServerError::io("starting a clean-up for", dir))?;
        let stdin = child.stdin.take();
        Ok(Janitor { child, stdin })
    }
}

impl Drop for Janitor {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

fn read_lossy(path: &Path) -> String {
    let mut bytes = Vec::new();
    if let Ok(mut file) = File::open(path) {
        let _ = file.read_to_end(&mut bytes);
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_passwd_lines() {
        let user = parse_passwd_line(
            "postgres:x:101:104:PostgreSQL administrator:/var/lib/postgresql:/bin/bash",
        )
        .unwrap();
        assert_eq!(
            (user.name.as_str(), user.uid, user.gid),
            ("postgres", 101, 104)
        );
        assert!(parse_passwd_line("broken").is_none());
    }

    #[test]
    fn free_port_is_bindable() {
        let port = free_port().unwrap();
        assert!(TcpListener::bind(("127.0.0.1", port)).is_ok());
    }
}
