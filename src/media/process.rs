//! Running a child process bounded in time and memory: the child is killed on timeout and
//! when the future is dropped, stderr keeps only its tail, stdout is streamed to a sink.

use std::ffi::OsString;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;

use super::MediaError;

/// How much of stderr is kept for error messages.
pub(crate) const STDERR_TAIL: usize = 4096;

/// Receives stdout as it arrives; an error stops the child (its stdout is closed).
pub(crate) type Sink<'a> = &'a mut (dyn FnMut(&[u8]) -> Result<(), MediaError> + Send);

pub(crate) struct Finished {
    pub status: ExitStatus,
    /// The last [`STDERR_TAIL`] bytes of stderr, from a line start, trimmed.
    pub stderr: String,
}

/// Runs `program args…` with stdin closed. With a sink, stdout is piped to it; else discarded.
pub(crate) async fn run(
    program: &Path,
    args: &[OsString],
    timeout: Duration,
    sink: Option<Sink<'_>>,
) -> Result<Finished, MediaError> {
    let mut command = Command::new(program);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(if sink.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    tracing::debug!(program = %program.display(), ?args, "running");
    let mut child = command.spawn().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => MediaError::FfmpegMissing { what: "this media" },
        _ => MediaError::Io(e),
    })?;
    let stderr = child.stderr.take();
    let stdout = child.stdout.take();
    let work = async {
        let (stderr, pumped) = tokio::join!(read_tail(stderr), pump(stdout, sink));
        let status = child.wait().await?;
        pumped?;
        Ok::<_, MediaError>(Finished { status, stderr })
    };
    let outcome = tokio::time::timeout(timeout, work).await;
    match outcome {
        Ok(finished) => finished,
        Err(_) => {
            let _ = child.start_kill();
            let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
            Err(MediaError::Timeout {
                secs: timeout.as_secs(),
            })
        }
    }
}

/// Feeds stdout to the sink; on a sink error the pipe is closed so the child stops writing.
async fn pump(
    stdout: Option<impl AsyncRead + Unpin>,
    sink: Option<Sink<'_>>,
) -> Result<(), MediaError> {
    let (Some(mut stdout), Some(sink)) = (stdout, sink) else {
        return Ok(());
    };
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = stdout.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        sink(&buf[..n])?;
    }
}

/// Reads a stream to its end, keeping only the last [`STDERR_TAIL`] bytes.
async fn read_tail(stream: Option<impl AsyncRead + Unpin>) -> String {
    let Some(mut stream) = stream else {
        return String::new();
    };
    let mut kept: Vec<u8> = Vec::with_capacity(2 * STDERR_TAIL);
    let mut buf = [0u8; 4096];
    let mut cut = false;
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                kept.extend_from_slice(&buf[..n]);
                if kept.len() > 2 * STDERR_TAIL {
                    kept.drain(..kept.len() - STDERR_TAIL);
                    cut = true;
                }
            }
        }
    }
    if kept.len() > STDERR_TAIL {
        kept.drain(..kept.len() - STDERR_TAIL);
        cut = true;
    }
    tail_text(&kept, cut)
}

/// The kept bytes as text; when the start was cut, from the first full line.
fn tail_text(kept: &[u8], cut: bool) -> String {
    let text = String::from_utf8_lossy(kept);
    let text = match (cut, text.find('\n')) {
        (true, Some(i)) => &text[i + 1..],
        _ => &text[..],
    };
    text.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh() -> &'static Path {
        Path::new("/bin/sh")
    }

    fn args(script: &str) -> Vec<OsString> {
        vec!["-c".into(), script.into()]
    }

    #[tokio::test]
    async fn keeps_the_tail_of_stderr() {
        let script =
            "i=0; while [ $i -lt 2000 ]; do echo \"line $i\" >&2; i=$((i+1)); done; exit 3";
        let done = run(sh(), &args(script), Duration::from_secs(20), None)
            .await
            .unwrap();
        assert_eq!(done.status.code(), Some(3));
        assert!(done.stderr.len() <= STDERR_TAIL);
        assert!(done.stderr.starts_with("line "), "{}", &done.stderr[..20]);
        assert!(done.stderr.ends_with("line 1999"));
    }

    #[tokio::test]
    async fn streams_stdout_and_stops_on_sink_error() {
        let mut total = 0usize;
        let mut sink = |chunk: &[u8]| {
            total += chunk.len();
            Ok(())
        };
        let script = "head -c 300000 /dev/zero";
        run(
            sh(),
            &args(script),
            Duration::from_secs(20),
            Some(&mut sink),
        )
        .await
        .unwrap();
        assert_eq!(total, 300_000);

        let mut refuse = |_: &[u8]| {
            Err(MediaError::TooLarge {
                what: "output",
                size: "big".into(),
                limit: "small".into(),
            })
        };
        let endless = "cat /dev/zero";
        let err = run(
            sh(),
            &args(endless),
            Duration::from_secs(20),
            Some(&mut refuse),
        )
        .await
        .err()
        .unwrap();
        assert!(matches!(err, MediaError::TooLarge { .. }), "{err}");
    }

    #[tokio::test]
    async fn kills_on_timeout() {
        let started = std::time::Instant::now();
        let err = run(
            sh(),
            &args("exec sleep 30"),
            Duration::from_millis(200),
            None,
        )
        .await
        .err()
        .unwrap();
        assert!(matches!(err, MediaError::Timeout { .. }), "{err}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[tokio::test]
    async fn a_missing_program_is_reported() {
        let err = run(
            Path::new("/nonexistent/ffmpeg"),
            &[],
            Duration::from_secs(1),
            None,
        )
        .await
        .err()
        .unwrap();
        assert!(matches!(err, MediaError::FfmpegMissing { .. }), "{err}");
    }

    #[test]
    fn tail_text_starts_at_a_line() {
        assert_eq!(tail_text(b"tial\nwhole line\n", true), "whole line");
        assert_eq!(tail_text(b"all of it\n", false), "all of it");
        assert_eq!(
            tail_text(b"\xff\xfe bad utf8", false),
            "\u{fffd}\u{fffd} bad utf8"
        );
    }
}
