//! The download links: the worker's WAV (and FLAC) bytes as `blob:` URLs, which stay on this computer
//! (nothing is uploaded; the browser saves the bytes it already has).

use js_sys::{Array, Uint8Array};
use web_sys::{Blob, BlobPropertyBag, Url};

/// A `blob:` URL for WAV bytes, to put in an `<a download>`; release it with [`release`].
pub fn wav_url(bytes: &Uint8Array) -> Result<String, String> {
    file_url(bytes, "audio/wav")
}

/// A `blob:` URL for a file's bytes of MIME type `mime`.
pub fn file_url(bytes: &Uint8Array, mime: &str) -> Result<String, String> {
    let parts = Array::of1(bytes);
    let options = BlobPropertyBag::new();
    options.set_type(mime);
    let blob = Blob::new_with_u8_array_sequence_and_options(&parts, &options)
        .map_err(|e| format!("The browser could not prepare the download: {}", crate::js::error_text(&e)))?;
    Url::create_object_url_with_blob(&blob)
        .map_err(|e| format!("The browser could not prepare the download: {}", crate::js::error_text(&e)))
}

/// Frees the memory behind a URL from [`wav_url`] (a new song replaces the old stems).
pub fn release(url: &str) {
    let _ = Url::revoke_object_url(url);
}
