//! Just enough of the MP4 box structure to tell what a file is and whether its index comes
//! first (`faststart`), without ffmpeg.

use std::path::Path;

use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::{MediaError, sniff_mime};

/// Whether the file starts like an MP4 (not QuickTime, 3GP or anything else).
pub(super) async fn is_mp4(path: &Path) -> Result<bool, MediaError> {
    let mut head = [0u8; 16];
    let mut file = tokio::fs::File::open(path).await?;
    let n = file.read(&mut head).await?;
    Ok(sniff_mime(&head[..n]) == Some("video/mp4"))
}

/// Whether an MP4's `moov` box comes before its `mdat` (the index first, so playback can
/// start before the whole file is downloaded). Walks the top-level boxes.
pub(super) async fn is_faststart(path: &Path) -> Result<bool, MediaError> {
    let mut file = tokio::fs::File::open(path).await?;
    let len = file.metadata().await?.len();
    let mut pos = 0u64;
    for _ in 0..1000 {
        if pos + 8 > len {
            break;
        }
        file.seek(std::io::SeekFrom::Start(pos)).await?;
        let mut header = [0u8; 16];
        file.read_exact(&mut header[..8]).await?;
        let size32 = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
        match &header[4..8] {
            b"moov" => return Ok(true),
            b"mdat" => return Ok(false),
            _ => {}
        }
        let size = match size32 {
            0 => break, // extends to the end of the file
            1 => {
                file.read_exact(&mut header[8..16]).await?;
                let mut large = [0u8; 8];
                large.copy_from_slice(&header[8..16]);
                u64::from_be_bytes(large)
            }
            n => u64::from(n),
        };
        if size < 8 {
            break;
        }
        pos = pos.saturating_add(size);
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn faststart_walks_top_level_boxes() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, bytes: &[u8]| {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            path
        };
        let ftyp = b"\0\0\0\x10ftypisom\0\0\0\0";
        let moov = b"\0\0\0\x08moov";
        let mdat = b"\0\0\0\x0cmdat\0\0\0\0";
        let first = write("a.mp4", &[&ftyp[..], moov, mdat].concat());
        assert!(is_faststart(&first).await.unwrap());
        let last = write("b.mp4", &[&ftyp[..], mdat, moov].concat());
        assert!(!is_faststart(&last).await.unwrap());
        // A 64-bit box size before moov.
        let free64 = b"\0\0\0\x01free\0\0\0\0\0\0\0\x10";
        let large = write("c.mp4", &[&ftyp[..], free64, moov].concat());
        assert!(is_faststart(&large).await.unwrap());
        // Garbage, truncation and zero sizes end the walk.
        for bytes in [
            &b""[..],
            b"\0\0\0\x02xxxx",
            b"\0\0\0\0ftyp",
            b"\xff\xff\xff\xffabcd",
        ] {
            let path = write("bad.mp4", bytes);
            assert!(!is_faststart(&path).await.unwrap());
        }
    }
}
