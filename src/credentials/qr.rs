//! `QRCodePNG` of `CreateVirtualMFADevice`: the `otpauth://` key URI drawn as a QR code
//! (ISO/IEC 18004, by the `qrcode` crate) and written as an 8-bit greyscale PNG that an
//! authenticator app's camera reads. The image holds the seed, so it is a [`Secret`].
//! See <https://docs.aws.amazon.com/IAM/latest/APIReference/API_VirtualMFADevice.html>.

use qrcode::{Color, EcLevel, QrCode};

use super::Secret;

/// Pixels per QR module: large enough for a phone camera at arm's length.
const SCALE: usize = 6;
/// The quiet zone around the symbol, in modules (ISO/IEC 18004 asks for 4).
const QUIET: usize = 4;

/// The QR code could not be made (the text is too long for any QR version) or written.
#[derive(Debug, Clone, thiserror::Error)]
#[error("QR code: {0}")]
pub(crate) struct QrError(String);

/// `text` as a QR code (error correction level M) in a PNG image.
pub(crate) fn png(text: &[u8]) -> Result<Secret, QrError> {
    let code = QrCode::with_error_correction_level(text, EcLevel::M)
        .map_err(|e| QrError(e.to_string()))?;
    let modules = code.width();
    let colors = code.to_colors();
    let side = (modules + 2 * QUIET) * SCALE;
    let mut pixels = crate::wipe::Wiped::new(vec![0xffu8; side * side]);
    for (i, color) in colors.iter().enumerate() {
        if *color != Color::Dark {
            continue;
        }
        let (mx, my) = (i % modules + QUIET, i / modules + QUIET);
        for row in my * SCALE..(my + 1) * SCALE {
            let start = row * side + mx * SCALE;
            if let Some(run) = pixels.get_mut(start..start + SCALE) {
                run.fill(0);
            }
        }
    }
    let side_u32 = u32::try_from(side).map_err(|e| QrError(e.to_string()))?;
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, side_u32, side_u32);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().map_err(|e| QrError(e.to_string()))?;
        w.write_image_data(&pixels)
            .map_err(|e| QrError(e.to_string()))?;
        w.finish().map_err(|e| QrError(e.to_string()))?;
    }
    Ok(Secret::from_bytes(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decode a PNG the way an authenticator app would: pixels, then the QR reader.
    pub(crate) fn read_back(png_bytes: &[u8]) -> String {
        let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!(info.color_type, png::ColorType::Grayscale);
        let (w, h) = (info.width as usize, info.height as usize);
        let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| buf[y * w + x]);
        let grids = img.detect_grids();
        assert_eq!(grids.len(), 1);
        grids[0].decode().unwrap().1
    }

    #[test]
    fn round_trips_an_otpauth_uri() {
        let uri = "otpauth://totp/tessera:phone@000000000000?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=tessera&algorithm=SHA1&digits=6&period=30";
        let image = png(uri.as_bytes()).unwrap();
        assert!(image.expose_bytes().starts_with(b"\x89PNG\r\n\x1a\n"));
        assert_eq!(read_back(image.expose_bytes()), uri);
        assert!(!format!("{image:?}").contains("PNG"));
    }

    #[test]
    fn longest_labels_still_fit() {
        // A 128-character device name and a 63-character alias, percent-encoded at worst.
        let label = "%2B".repeat(128 + 63);
        let uri = format!("otpauth://totp/tessera:{label}?secret={}", "A".repeat(32));
        let image = png(uri.as_bytes()).unwrap();
        assert_eq!(read_back(image.expose_bytes()), uri);
    }

    #[test]
    fn too_long_is_an_error() {
        assert!(png(&vec![b'a'; 5000]).is_err());
    }
}
