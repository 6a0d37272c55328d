//! The one guarded way Autopilot opens and decodes an image file. Every decode (dataset checks,
//! featurization, `featurize`, `models check`, insights) goes through [`decode_image`] or, for a
//! header-only look, [`probe_image`], so the same limits hold everywhere:
//!
//! * only **regular files** are opened (a FIFO, device or folder is refused before `open`, which
//!   would block forever on a FIFO without a writer); symlinks are followed;
//! * the file may be at most [`DecodeLimits::max_alloc`] bytes;
//! * the header is read first and the image is refused, **before any pixel is decoded**, when a
//!   side exceeds [`DecodeLimits::max_side`], the pixel count exceeds
//!   [`DecodeLimits::max_pixels`] (a decompression bomb), or the decoded buffer would exceed the
//!   memory budget [`DecodeLimits::max_alloc`] (a 13000 × 13000 16-bit PNG is under the pixel
//!   limit but needs over 1 GB);
//! * a **truncated** file is an error, never a partly grey image: the `image` crate's JPEG
//!   decoder silently fills missing data, so a JPEG must reach its end-of-image marker; a WebP
//!   file must be as long as its RIFF header says (its decoder accepts a few bytes missing from
//!   the end); the PNG, GIF, BMP and TIFF decoders report missing data themselves.

use std::fs::File;
use std::io::{BufReader, Cursor, Read};
use std::path::Path;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};

/// Pillow's default `MAX_IMAGE_PIXELS`.
pub const DEFAULT_MAX_PIXELS: u64 = 178_956_970;
/// Largest accepted width or height (JPEG's own maximum).
pub const DEFAULT_MAX_SIDE: u32 = 65_535;
/// Default memory budget of one decode: 512 MiB for the decoded buffer (and the file).
pub const DEFAULT_MAX_ALLOC: u64 = 512 << 20;

/// Limits applied to every image decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Most pixels (width × height) an image may announce in its header.
    pub max_pixels: u64,
    /// Largest width or height.
    pub max_side: u32,
    /// Memory budget in bytes: the decoded buffer and the file itself must each fit.
    pub max_alloc: u64,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        Self {
            max_pixels: DEFAULT_MAX_PIXELS,
            max_side: DEFAULT_MAX_SIDE,
            max_alloc: DEFAULT_MAX_ALLOC,
        }
    }
}

impl DecodeLimits {
    /// The default limits with another pixel limit.
    pub fn with_max_pixels(max_pixels: u64) -> Self {
        Self {
            max_pixels,
            ..Self::default()
        }
    }

    /// The same limits as `image` crate [`Limits`].
    fn to_image_limits(self) -> Limits {
        let mut l = Limits::default();
        l.max_image_width = Some(self.max_side);
        l.max_image_height = Some(self.max_side);
        l.max_alloc = Some(self.max_alloc);
        l
    }
}

/// What kind of problem an image file has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageProblemKind {
    /// The file does not exist.
    NotFound,
    /// The path is not a regular file (a FIFO, socket, device or folder).
    NotRegularFile,
    /// The file could not be read.
    Unreadable,
    /// The content is not a known image format.
    UnknownFormat,
    /// The image is larger than the limits (possible decompression bomb); not decoded.
    TooLarge,
    /// The file ends before the image data does.
    Truncated,
    /// The data is corrupt or the decoder failed.
    Corrupt,
}

/// Why an image file was refused or could not be decoded (the reason, without the path: callers
/// name the file, row and column).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct ImageProblem {
    /// The kind of problem.
    pub kind: ImageProblemKind,
    /// A human-readable reason, on one line.
    pub reason: String,
}

impl ImageProblem {
    /// A problem of `kind`; line breaks in `reason` (some decoders' messages have them) become
    /// spaces, so that a reported row stays on one line.
    fn new(kind: ImageProblemKind, reason: impl Into<String>) -> Self {
        let reason: String = reason.into();
        Self {
            kind,
            reason: reason.split_whitespace().collect::<Vec<_>>().join(" "),
        }
    }
}

/// Checks that `path` is an existing regular file (following symlinks), without opening it.
pub fn check_regular_file(path: &Path) -> Result<std::fs::Metadata, ImageProblem> {
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => {
            ImageProblem::new(ImageProblemKind::NotFound, "image file not found")
        }
        _ => ImageProblem::new(
            ImageProblemKind::Unreadable,
            format!("cannot open image: {e}"),
        ),
    })?;
    if !meta.is_file() {
        let what = if meta.is_dir() {
            "a folder"
        } else {
            "a FIFO, socket or device"
        };
        return Err(ImageProblem::new(
            ImageProblemKind::NotRegularFile,
            format!("not a regular file ({what}); refused"),
        ));
    }
    Ok(meta)
}

/// Opens a regular file for reading (see [`check_regular_file`]).
fn open_regular(path: &Path) -> Result<File, ImageProblem> {
    check_regular_file(path)?;
    File::open(path).map_err(|e| {
        ImageProblem::new(
            ImageProblemKind::Unreadable,
            format!("cannot open image: {e}"),
        )
    })
}

/// Reads a whole regular file; anything else (a FIFO, a folder) is refused without blocking.
pub fn read_regular_file(path: &Path) -> Result<Vec<u8>, ImageProblem> {
    let mut bytes = Vec::new();
    open_regular(path)?.read_to_end(&mut bytes).map_err(|e| {
        ImageProblem::new(
            ImageProblemKind::Unreadable,
            format!("cannot read image: {e}"),
        )
    })?;
    Ok(bytes)
}

/// Maps a decoder error to a problem (limit errors are "too large", the rest "corrupt").
fn decode_problem(e: image::ImageError) -> ImageProblem {
    match e {
        image::ImageError::Limits(l) => ImageProblem::new(
            ImageProblemKind::TooLarge,
            format!("image exceeds the decoding limits ({l}); not decoded"),
        ),
        image::ImageError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            ImageProblem::new(
                ImageProblemKind::Truncated,
                format!("truncated image file ({e})"),
            )
        }
        // A format recognised but not built in (PNM, AVIF, …): the file itself may be fine.
        image::ImageError::Unsupported(e) => ImageProblem::new(
            ImageProblemKind::UnknownFormat,
            format!("unsupported image format ({e}); JPEG, PNG, WebP, BMP, GIF and TIFF are read"),
        ),
        e => ImageProblem::new(
            ImageProblemKind::Corrupt,
            format!("corrupt or unreadable image: {e}"),
        ),
    }
}

/// Refuses an image whose header announces more than the limits allow: sides, pixels, and the
/// decoded buffer against the memory budget.
fn check_header(
    w: u32,
    h: u32,
    decoded_bytes: u64,
    limits: &DecodeLimits,
) -> Result<(), ImageProblem> {
    let pixels = u64::from(w) * u64::from(h);
    let too_large = |why: String| {
        Err(ImageProblem::new(
            ImageProblemKind::TooLarge,
            format!(
                "image is {w}x{h} = {pixels} pixels: {why} (possible decompression bomb; not decoded)"
            ),
        ))
    };
    if w > limits.max_side || h > limits.max_side {
        return too_large(format!("a side is above the limit of {}", limits.max_side));
    }
    if pixels > limits.max_pixels {
        return too_large(format!("above the limit of {}", limits.max_pixels));
    }
    if decoded_bytes > limits.max_alloc {
        return too_large(format!(
            "decoding needs {} MiB, above the memory budget of {} MiB",
            decoded_bytes.div_ceil(1 << 20),
            limits.max_alloc >> 20
        ));
    }
    Ok(())
}

/// Guesses the format of `reader` and makes a decoder whose header passed [`check_header`].
fn guarded_decoder<'a, R: std::io::BufRead + std::io::Seek + 'a>(
    reader: ImageReader<R>,
    limits: &DecodeLimits,
) -> Result<(impl ImageDecoder + 'a, ImageFormat), ImageProblem> {
    let mut reader = reader.with_guessed_format().map_err(|e| {
        ImageProblem::new(
            ImageProblemKind::Unreadable,
            format!("cannot read image: {e}"),
        )
    })?;
    let Some(format) = reader.format() else {
        return Err(ImageProblem::new(
            ImageProblemKind::UnknownFormat,
            "not a recognised image format",
        ));
    };
    // Sides are checked by `check_header` (with a clearer message); the allocation budget is
    // also given to the decoder, which PNG honours for its own buffers.
    let mut header_limits = limits.to_image_limits();
    header_limits.max_image_width = None;
    header_limits.max_image_height = None;
    reader.limits(header_limits);
    let mut decoder = reader.into_decoder().map_err(decode_problem)?;
    let (w, h) = decoder.dimensions();
    check_header(w, h, decoder.total_bytes(), limits)?;
    decoder
        .set_limits(limits.to_image_limits())
        .map_err(decode_problem)?;
    Ok((decoder, format))
}

/// Reads only the header of an image file and checks it against `limits` (regular file, known
/// format, size): the cheap check to run before loading a model. Returns `(width, height)`.
pub fn probe_image(path: &Path, limits: &DecodeLimits) -> Result<(u32, u32), ImageProblem> {
    let meta = check_regular_file(path)?;
    check_file_size(meta.len(), limits)?;
    let reader = ImageReader::new(BufReader::new(open_regular(path)?));
    let (decoder, _) = guarded_decoder(reader, limits)?;
    Ok(decoder.dimensions())
}

/// Refuses a file larger than the memory budget (it is read whole).
fn check_file_size(len: u64, limits: &DecodeLimits) -> Result<(), ImageProblem> {
    if len > limits.max_alloc {
        return Err(ImageProblem::new(
            ImageProblemKind::TooLarge,
            format!(
                "file is {} MiB, above the memory budget of {} MiB; not decoded",
                len.div_ceil(1 << 20),
                limits.max_alloc >> 20
            ),
        ));
    }
    Ok(())
}

/// Decodes an image file under `limits`, applying its EXIF orientation. Refuses non-regular
/// files, oversized images (from the header, before decoding) and truncated files.
pub fn decode_image(path: &Path, limits: &DecodeLimits) -> Result<DynamicImage, ImageProblem> {
    let meta = check_regular_file(path)?;
    check_file_size(meta.len(), limits)?;
    if meta.len() == 0 {
        return Err(ImageProblem::new(
            ImageProblemKind::UnknownFormat,
            "empty file (0 bytes)",
        ));
    }
    let bytes = read_regular_file(path)?;
    let (mut decoder, format) = guarded_decoder(ImageReader::new(Cursor::new(&bytes[..])), limits)?;
    if format == ImageFormat::Jpeg && !jpeg_is_complete(&bytes) {
        return Err(ImageProblem::new(
            ImageProblemKind::Truncated,
            "truncated JPEG: the file ends before the image data does (no end-of-image marker)",
        ));
    }
    if format == ImageFormat::WebP && !riff_is_complete(&bytes) {
        return Err(ImageProblem::new(
            ImageProblemKind::Truncated,
            "truncated WebP: the file is shorter than its RIFF header says",
        ));
    }
    let orientation = decoder.orientation().map_err(decode_problem)?;
    let mut img = DynamicImage::from_decoder(decoder).map_err(decode_problem)?;
    img.apply_orientation(orientation);
    Ok(img)
}

/// True when a RIFF file (WebP) holds at least the bytes its header announces.
pub fn riff_is_complete(bytes: &[u8]) -> bool {
    match bytes.get(4..8) {
        Some(size) => {
            let size = u32::from_le_bytes([size[0], size[1], size[2], size[3]]) as usize;
            bytes.len() >= size.saturating_add(8)
        }
        None => false,
    }
}

/// True when a JPEG's marker structure is complete: the segments (skipped by their lengths, so
/// an embedded EXIF thumbnail does not count) and the entropy-coded scans are followed up to
/// the end-of-image marker. Bytes after that marker are ignored.
pub fn jpeg_is_complete(bytes: &[u8]) -> bool {
    let mut i = 2; // after SOI (FF D8), which the format guess already matched
    loop {
        // Next marker: skip stray bytes, then fill bytes (FF FF ...).
        let Some(ff) = bytes
            .get(i..)
            .and_then(|b| b.iter().position(|&x| x == 0xFF))
        else {
            return false;
        };
        i += ff;
        while bytes.get(i) == Some(&0xFF) {
            i += 1;
        }
        let Some(&marker) = bytes.get(i) else {
            return false;
        };
        i += 1;
        match marker {
            0xD9 => return true,                   // EOI
            0x00 | 0x01 | 0xD0..=0xD8 => continue, // stuffing, TEM, RSTn, SOI: no length
            _ => {
                let Some(len) = bytes
                    .get(i..i + 2)
                    .map(|l| usize::from(u16::from_be_bytes([l[0], l[1]])))
                else {
                    return false;
                };
                if len < 2 || i + len > bytes.len() {
                    return false;
                }
                i += len;
                if marker == 0xDA {
                    match skip_scan(bytes, i) {
                        Some(next) => i = next,
                        None => return false,
                    }
                }
            }
        }
    }
}

/// Skips entropy-coded data starting at `i`; returns the position of the next real marker
/// (its first `FF`), or `None` when the data runs to the end of the file.
fn skip_scan(bytes: &[u8], mut i: usize) -> Option<usize> {
    loop {
        i += bytes.get(i..)?.iter().position(|&x| x == 0xFF)?;
        match *bytes.get(i + 1)? {
            0x00 | 0xD0..=0xD7 => i += 2, // stuffed FF, restart marker
            0xFF => i += 1,               // fill byte
            _ => return Some(i),
        }
    }
}
