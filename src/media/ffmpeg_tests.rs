//! ffmpeg runner details that need no ffmpeg: the encoder listing, file arguments.

use super::*;

#[test]
fn encoders_are_parsed_from_the_listing() {
    let listing = "\
Encoders:
 V..... = Video
 A..... = Audio
 ------
 V....D libx264              libx264 H.264 / AVC / MPEG-4 AVC / MPEG-4 part 10 (codec h264)
 V....D libopenh264          OpenH264 H.264 / AVC / MPEG-4 AVC / MPEG-4 part 10 (codec h264)
 A....D aac                  AAC (Advanced Audio Coding)
 A..X.D opus                 Opus
garbage
";
    let names = parse_encoders(listing);
    let want: BTreeSet<String> = ["libx264", "libopenh264", "aac", "opus"]
        .map(String::from)
        .into();
    assert_eq!(names, want);
    assert!(parse_encoders("").is_empty());
    assert!(parse_encoders("no separator\n V....D libx264 x").is_empty());
}

#[test]
fn file_args_never_look_like_protocols() {
    assert_eq!(
        file_arg(Path::new("http://x")),
        OsString::from("file:http://x")
    );
    assert_eq!(
        file_arg(Path::new("/tmp/a b.mp4")),
        OsString::from("file:/tmp/a b.mp4")
    );
}
