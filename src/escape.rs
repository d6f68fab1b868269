//! The byte scanner under the XML and JSON escapers: find the first byte that needs escaping,
//! a block at a time.

/// The index of the first byte `pred` picks: the scanner under the XML and JSON escapers.
/// Each 32-byte block is tested without an early exit, which the compiler turns into a few
/// vector compares when `pred` is branch-free (see `protocol::xml::is_special`).
#[inline]
pub(crate) fn first_byte_where(bytes: &[u8], pred: impl Fn(u8) -> bool + Copy) -> Option<usize> {
    const BLOCK: usize = 32;
    let mut blocks = bytes.chunks_exact(BLOCK);
    let mut offset = 0;
    for block in &mut blocks {
        if block.iter().fold(false, |any, &b| any | pred(b)) {
            return block.iter().position(|&b| pred(b)).map(|i| offset + i);
        }
        offset += BLOCK;
    }
    blocks
        .remainder()
        .iter()
        .position(|&b| pred(b))
        .map(|i| offset + i)
}
