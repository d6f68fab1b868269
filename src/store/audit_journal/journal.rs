//! The audit journal: where a batch of audit records is committed before the credentials it
//! guards are handed out.
//!
//! A group commit of audit records through SQLite costs a transaction, page writes into the
//! WAL, file locks and checkpoints. So the store's journal task appends each batch of records
//! that guard credentials to this journal instead, with one `pwrite`: a frame padded to whole
//! 4 KiB blocks, into a file whose blocks were all written when it was created (so the write
//! changes no file-system metadata). Once `pwrite` returns, the frame is in the kernel's page
//! cache: it survives a `kill -9` or any other crash of tessera. The records reach the SQLite
//! audit table (synced, `synchronous=FULL`) soon after, many batches per transaction, on a
//! thread of their own (see the store's copier); that transaction is what makes them survive a
//! power loss too. The file is a ring: the space of a frame is written again only after the
//! transaction holding its copy is durable.
//!
//! Frame: `magic "TSJ1" | len u32 | seq u64 | time i64 | checksum u64 | records (len bytes)`
//! then zeros to the next block (integers little-endian). `seq` grows by one per frame;
//! `checksum` is a 64-bit multiply-xorshift hash of everything before it and the records (it
//! finds torn writes; nothing here needs to resist a forger, who could rewrite the file
//! anyway). Frames start on block boundaries: recovery tries every block and keeps the whole
//! frames, ordered by seq.
//!
//! One process owns the journal at a time (an exclusive lock on the file); a process that cannot
//! take it (a CLI command while the server runs) commits its audit records to SQLite directly.

use std::fs::{File, OpenOptions};
use std::io::{self, Read as _};
use std::os::unix::fs::{FileExt as _, OpenOptionsExt as _};
use std::path::Path;

/// Frames are whole blocks of this size at offsets that are multiples of it, so a torn write
/// spoils at most the frame being written and recovery knows where frames can start.
pub const BLOCK: usize = 4096;

/// The journal's size. Records are copied into SQLite long before it fills; a batch that does
/// not fit makes the writer copy first and start over.
pub const CAPACITY: usize = 16 << 20;

const MAGIC: &[u8; 4] = b"TSJ1";
const HEADER: usize = 4 + 4 + 8 + 8 + 8;

/// One recovered frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub seq: u64,
    pub time_ms: i64,
    /// JSON lines, newline-separated, as the audit table stores them.
    pub records: String,
}

pub struct Journal {
    /// Opened for writing: through the page cache, or with `O_DIRECT | O_DSYNC` when synced.
    file: File,
    /// Holds the exclusive lock for as long as the journal, or anyone given [`Journal::lock`],
    /// lives.
    lock: std::sync::Arc<File>,
    /// Where frames are encoded: room for the largest frame so far plus alignment slack (what
    /// `O_DIRECT` asks of a buffer); the aligned window starts at `buf[shift]`.
    buf: Vec<u8>,
    shift: usize,
    /// Where the next frame goes.
    offset: usize,
    next_seq: u64,
    /// Frames not yet known to be copied into SQLite: (seq, offset, size), oldest first. Their
    /// space is not written again.
    live: std::collections::VecDeque<(u64, usize, usize)>,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal")
            .field("offset", &self.offset)
            .field("next_seq", &self.next_seq)
            .finish_non_exhaustive()
    }
}

/// Why an append did not happen.
#[derive(Debug)]
pub enum AppendError {
    /// The frame does not fit in the space not holding uncopied frames.
    Full,
    Io(io::Error),
}

impl Journal {
    /// Open (creating and filling with zeros if needed) and lock the journal at `path`, and read
    /// the frames it holds. `Ok(None)` when another process holds the lock. With `sync`, every
    /// append is on the device before it returns (`O_DIRECT | O_DSYNC`).
    pub fn open(path: &Path, sync: bool) -> io::Result<Option<(Journal, Vec<Frame>)>> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Ok(None),
            Err(std::fs::TryLockError::Error(e)) => return Err(e),
        }
        let mut image = Vec::with_capacity(CAPACITY);
        (&mut file).take(CAPACITY as u64).read_to_end(&mut image)?;
        let frames = scan(&image);
        if image.len() < CAPACITY {
            // Write every block once (not `fallocate`: unwritten extents would turn each later
            // write into a metadata change), then make the size and blocks durable.
            let zeros = vec![0u8; 1 << 20];
            let mut at = image.len();
            while at < CAPACITY {
                let n = (CAPACITY - at).min(zeros.len());
                file.write_all_at(zeros.get(..n).unwrap_or_default(), at as u64)?;
                at += n;
            }
            file.sync_all()?;
            if let Some(dir) = path.parent() {
                File::open(dir)?.sync_all()?;
            }
        }
        drop(image);
        // The lock stays with `file`'s open file description; writes go through a second one.
        let writer = open_writer(path, sync)?;
        let next_seq = frames.last().map_or(1, |f| f.seq.saturating_add(1));
        let journal = Journal {
            file: writer,
            lock: std::sync::Arc::new(file),
            buf: Vec::new(),
            shift: 0,
            offset: 0,
            next_seq,
            live: std::collections::VecDeque::new(),
        };
        Ok(Some((journal, frames)))
    }

    /// A share of the journal's lock: the lock holds until the journal and every share are
    /// dropped (the copier keeps one, so no other process opens the journal while it copies).
    pub fn lock(&self) -> std::sync::Arc<File> {
        self.lock.clone()
    }

    /// Seqs at or below `seq` were used before: continue after it.
    pub fn continue_after(&mut self, seq: u64) {
        self.next_seq = self.next_seq.max(seq.saturating_add(1));
    }

    /// Append one frame and return its seq once it is in the file (the kernel has it; with
    /// `sync`, the device too).
    pub fn append(&mut self, time_ms: i64, records: &str) -> Result<u64, AppendError> {
        let len = HEADER + records.len();
        let padded = len.div_ceil(BLOCK) * BLOCK;
        let Some(at) = self.place(padded) else {
            return Err(AppendError::Full);
        };
        let seq = self.next_seq;
        if self.buf.len() < self.shift + padded {
            // Grow to the largest frame seen so far (in blocks), aligned afresh.
            self.buf = vec![0u8; padded + BLOCK];
            self.shift = self.buf.as_mut_ptr().align_offset(BLOCK).min(BLOCK);
        }
        let Some(window) = self.buf.get_mut(self.shift..self.shift + padded) else {
            return Err(AppendError::Full);
        };
        encode(window, seq, time_ms, records);
        self.file
            .write_all_at(window, at as u64)
            .map_err(AppendError::Io)?;
        self.offset = at + padded;
        self.next_seq += 1;
        self.live.push_back((seq, at, padded));
        Ok(seq)
    }

    /// Where a frame of `size` bytes goes: at the write position, or at the start of the file
    /// when it does not fit before the end; never over an uncopied frame.
    fn place(&mut self, size: usize) -> Option<usize> {
        if size > CAPACITY {
            return None;
        }
        let Some(&(_, tail, _)) = self.live.front() else {
            // Nothing uncopied: the whole ring is free.
            let at = if self.offset + size <= CAPACITY {
                self.offset
            } else {
                0
            };
            return Some(at);
        };
        // Uncopied frames run from `tail` up to `offset`, wrapping at most once.
        if self.offset > tail {
            // Not wrapped. Free: [offset, CAPACITY) and [0, tail).
            if self.offset + size <= CAPACITY {
                Some(self.offset)
            } else if size <= tail {
                Some(0)
            } else {
                None
            }
        } else {
            // Wrapped (`offset == tail`: full). Free: [offset, tail).
            (self.offset + size <= tail).then_some(self.offset)
        }
    }

    /// Frames up to `seq` are durable in SQLite: their space may be written again.
    pub fn release_through(&mut self, seq: u64) {
        while self.live.front().is_some_and(|&(s, _, _)| s <= seq) {
            self.live.pop_front();
        }
    }

    /// Bytes held by frames not yet copied.
    pub fn used(&self) -> usize {
        self.live.iter().map(|&(_, _, size)| size).sum()
    }
}

/// A second open file description for the writes (the lock stays with the first one).
fn open_writer(path: &Path, sync: bool) -> io::Result<File> {
    if sync {
        open_direct(path)
    } else {
        OpenOptions::new().write(true).open(path)
    }
}

/// For `sync`: writes that are on the device when they return.
fn open_direct(path: &Path) -> io::Result<File> {
    let open = |flags| {
        OpenOptions::new()
            .write(true)
            .custom_flags(flags)
            .open(path)
    };
    // Some file systems (tmpfs) refuse O_DIRECT; O_DSYNC alone keeps the promise.
    let file = match open(libc::O_DIRECT | libc::O_DSYNC) {
        Ok(f) => f,
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => return open(libc::O_DSYNC),
        Err(e) => return Err(e),
    };
    // And some accept the flag at open but refuse the writes: rewrite block 0 with what it
    // holds, through an aligned buffer, to find out.
    let mut aligned = vec![0u8; 2 * BLOCK];
    let shift = aligned.as_mut_ptr().align_offset(BLOCK).min(BLOCK);
    let Some(block) = aligned.get_mut(shift..shift + BLOCK) else {
        return open(libc::O_DSYNC);
    };
    File::open(path)?.read_exact_at(block, 0)?;
    match file.write_all_at(block, 0) {
        Ok(()) => Ok(file),
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => open(libc::O_DSYNC),
        Err(e) => Err(e),
    }
}

fn checksum(head: &[u8], records: &[u8]) -> [u8; 8] {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut h: u64 = 0x7465_7373_6572_6121 ^ (records.len() as u64).wrapping_mul(K);
    let mut mix = |w: u64| {
        h = (h ^ w).wrapping_mul(K);
        h ^= h >> 29;
    };
    for part in [head, records] {
        let mut words = part.chunks_exact(8);
        for w in &mut words {
            mix(u64::from_le_bytes(w.try_into().unwrap_or_default()));
        }
        let mut last = [0u8; 8];
        last.get_mut(..words.remainder().len())
            .unwrap_or_default()
            .copy_from_slice(words.remainder());
        mix(u64::from_le_bytes(last));
    }
    h = (h ^ (h >> 32)).wrapping_mul(K);
    (h ^ (h >> 31)).to_le_bytes()
}

/// Write one frame into `out` (header, records, zero padding to `out.len()`).
fn encode(out: &mut [u8], seq: u64, time_ms: i64, records: &str) {
    let mut head = [0u8; HEADER - 8];
    head[..4].copy_from_slice(MAGIC);
    head[4..8].copy_from_slice(&(records.len() as u32).to_le_bytes());
    head[8..16].copy_from_slice(&seq.to_le_bytes());
    head[16..24].copy_from_slice(&time_ms.to_le_bytes());
    let sum = checksum(&head, records.as_bytes());
    let (h, rest) = out.split_at_mut(HEADER - 8);
    h.copy_from_slice(&head);
    let (s, rest) = rest.split_at_mut(8);
    s.copy_from_slice(&sum);
    let (r, pad) = rest.split_at_mut(records.len());
    r.copy_from_slice(records.as_bytes());
    pad.fill(0);
}

/// The frames in the journal at `path`, read without taking its lock (for `tessera audit
/// tail`): a frame being written meanwhile fails its checksum and ends the list. Empty when
/// there is no journal.
pub fn read(path: &Path) -> Vec<Frame> {
    let mut image = Vec::new();
    match File::open(path) {
        Ok(f) => match f.take(CAPACITY as u64).read_to_end(&mut image) {
            Ok(_) => scan(&image),
            Err(_) => Vec::new(),
        },
        Err(_) => Vec::new(),
    }
}

/// Every whole frame in `image` (frames start on block boundaries), ordered by seq.
pub fn scan(image: &[u8]) -> Vec<Frame> {
    let mut frames = Vec::new();
    let mut at = 0usize;
    while at < image.len() {
        match decode(image.get(at..).unwrap_or_default()) {
            Some((frame, size)) => {
                frames.push(frame);
                at += size;
            }
            None => at += BLOCK,
        }
    }
    frames.sort_by_key(|f| f.seq);
    frames.dedup_by_key(|f| f.seq);
    frames
}

/// One frame at the start of `bytes` and the bytes it occupies (padding included).
fn decode(bytes: &[u8]) -> Option<(Frame, usize)> {
    let head = bytes.get(..HEADER - 8)?;
    if head.get(..4)? != MAGIC {
        return None;
    }
    let len = u32::from_le_bytes(head.get(4..8)?.try_into().ok()?) as usize;
    let seq = u64::from_le_bytes(head.get(8..16)?.try_into().ok()?);
    let time_ms = i64::from_le_bytes(head.get(16..24)?.try_into().ok()?);
    let sum = bytes.get(HEADER - 8..HEADER)?;
    let records = bytes.get(HEADER..HEADER.checked_add(len)?)?;
    if !bool::from(subtle::ConstantTimeEq::ct_eq(
        &checksum(head, records)[..],
        sum,
    )) {
        return None;
    }
    let records = String::from_utf8(records.to_vec()).ok()?;
    let size = (HEADER + len).div_ceil(BLOCK) * BLOCK;
    Some((
        Frame {
            seq,
            time_ms,
            records,
        },
        size,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reopen(path: &Path) -> (Journal, Vec<Frame>) {
        Journal::open(path, false).unwrap().unwrap()
    }

    #[test]
    fn frames_come_back_in_order_after_a_restart() {
        restart(false);
    }

    #[test]
    fn synced_frames_come_back_in_order_after_a_restart() {
        restart(true);
    }

    fn restart(sync: bool) {
        let reopen = |path: &Path| Journal::open(path, sync).unwrap().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let (mut j, frames) = reopen(&path);
        assert!(frames.is_empty());
        assert_eq!(std::fs::metadata(&path).unwrap().len(), CAPACITY as u64);
        let big = "x".repeat(3 * BLOCK - HEADER);
        assert_eq!(j.append(1, "{\"a\":1}").unwrap(), 1);
        assert_eq!(j.append(2, &big).unwrap(), 2);
        assert_eq!(j.append(3, "{\"c\":3}\n{\"d\":4}").unwrap(), 3);
        assert_eq!(j.used(), 5 * BLOCK);
        drop(j);
        let (j, frames) = reopen(&path);
        let got: Vec<(u64, i64, &str)> = frames
            .iter()
            .map(|f| (f.seq, f.time_ms, f.records.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (1, 1, "{\"a\":1}"),
                (2, 2, big.as_str()),
                (3, 3, "{\"c\":3}\n{\"d\":4}")
            ]
        );
        // A restart continues the seqs.
        assert_eq!(j.used(), 0);
        let mut j = j;
        assert_eq!(j.append(4, "e").unwrap(), 4);
    }

    #[test]
    fn a_second_owner_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let (_j, _) = reopen(&path);
        assert!(Journal::open(&path, false).unwrap().is_none());
    }

    #[test]
    fn the_ring_reuses_only_copied_space() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let (mut j, _) = reopen(&path);
        // Frames of a quarter of the ring each: four fit, a fifth does not until one is copied.
        let quarter = "q".repeat(CAPACITY / 4 - HEADER);
        for seq in 1..=4 {
            assert_eq!(j.append(seq, &quarter).unwrap(), seq as u64);
        }
        assert!(matches!(j.append(5, &quarter), Err(AppendError::Full)));
        assert!(matches!(j.append(5, "small"), Err(AppendError::Full)));
        j.release_through(1);
        assert_eq!(j.used(), 3 * CAPACITY / 4);
        // Wraps to offset 0, over frame 1.
        assert_eq!(j.append(5, &quarter).unwrap(), 5);
        assert!(matches!(j.append(6, "small"), Err(AppendError::Full)));
        j.release_through(5);
        assert_eq!(j.used(), 0);
        assert_eq!(j.append(6, "six").unwrap(), 6);
        drop(j);
        // Every whole frame comes back, in seq order, wherever it sits.
        let (_, frames) = reopen(&path);
        let seqs: Vec<u64> = frames.iter().map(|f| f.seq).collect();
        assert_eq!(seqs, [3, 4, 5, 6]); // 6 went where 2 was
        assert_eq!(frames.last().unwrap().records, "six");
    }

    #[test]
    fn torn_or_damaged_frames_are_skipped() {
        let mut image = vec![0u8; 4 * BLOCK];
        let a = "first";
        let b = "second record";
        encode(&mut image[..BLOCK], 7, 1, a);
        encode(&mut image[BLOCK..2 * BLOCK], 8, 2, b);
        encode(&mut image[3 * BLOCK..], 9, 3, "third");
        assert_eq!(scan(&image).len(), 3);
        image[3 * BLOCK..].fill(0);
        assert_eq!(scan(&image).len(), 2);
        // A torn second frame: part of its records never reached the disk.
        let mut torn = image.clone();
        torn[BLOCK + HEADER + 3] = 0;
        assert_eq!(scan(&torn).len(), 1);
        // A damaged length, seq or magic.
        for at in [4, 8, 0] {
            let mut bad = image.clone();
            bad[BLOCK + at] ^= 1;
            assert_eq!(scan(&bad).len(), 1, "byte {at}");
        }
        // A length past the end of the image.
        let mut long = image.clone();
        long[BLOCK + 4..BLOCK + 8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(scan(&long).len(), 1);
        assert!(scan(&[]).is_empty());
        assert!(scan(&image[..10]).is_empty());
        // Records that put the magic on a block boundary inside their frame: the "length" that
        // follows is text, far past any journal.
        let mut text = "a".repeat(BLOCK - HEADER);
        text.push_str("TSJ1 \"length\": \"seq\", \"time\": \"and a checksum\"");
        let mut two = vec![0u8; 2 * BLOCK];
        encode(&mut two, 1, 1, &text);
        assert_eq!(&two[BLOCK..BLOCK + 4], MAGIC);
        assert_eq!(scan(&two).len(), 1);
    }

    #[test]
    fn a_frame_larger_than_the_journal_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (mut j, _) = reopen(&dir.path().join("j"));
        let huge = "x".repeat(CAPACITY);
        assert!(matches!(j.append(1, &huge), Err(AppendError::Full)));
        assert_eq!(j.append(1, "fits").unwrap(), 1);
    }
}
