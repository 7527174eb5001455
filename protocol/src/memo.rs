//! Run-wide sharing of payload bytes and memoisation of pure cryptographic functions, for
//! simulations of large fleets in which thousands of devices check the same envelope and
//! decrypt the same payload.
//!
//! Nothing here weakens a check. Each memoised function is pure, and a result is reused only
//! for inputs that are *exactly* the same as those it was computed from:
//!
//! - **Signature verification** (ES256): the key (its SEC1 encoding), the signed bytes and
//!   the signature are kept in full and compared byte for byte; a tampered byte anywhere
//!   misses and is verified for real.
//! - **Payload blocks** are interned: a block whose bytes equal (byte for byte) a block
//!   already received anywhere in the run is stored as a reference to that one
//!   ([`SharedBytes`]), so a device holds a list of references rather than a copy of the
//!   image. The lists are shared too: the memo keeps one list per sequence of blocks, and a
//!   device whose blocks so far are those of a known list only counts how many it has
//!   matched ([`InternedBody`]), rather than writing a reference per block.
//! - **Payload decryption** (A128GCM) is keyed by the content-encryption key, the encoded
//!   COSE_Encrypt (algorithm, IV and protected header: everything that enters the AEAD
//!   besides the key and ciphertext) and the ciphertext as its sequence of interned blocks,
//!   represented by the one list the memo keeps for that sequence. Interned blocks are
//!   immutable and kept alive by the memo, so equal references mean equal bytes; different
//!   blocks (tampered, or the same bytes cut into other block sizes) miss and are decrypted
//!   for real. The plaintext is one shared buffer.
//! - **SHA-256 of an image** is keyed by the shared plaintext buffer, held alive by the memo
//!   (so its address cannot be reused for other bytes).
//! - **Envelope decoding** is not cryptography, but it is pure, and thousands of devices
//!   decode the same envelope into the same tree of a few hundred small allocations, which
//!   each keeps until its update ends. Keyed by the encoded bytes, kept in full, it is done
//!   once and the decoded envelope shared; a failure is not kept (it is found again). It
//!   is not counted in [`MemoStats`]. The same holds for the author credential inside it
//!   (its COSE_Sign1 and claims), whose signature and validity are still checked at each
//!   use.
//!
//! A disabled memo ([`CryptoMemo::disabled`], `--no-crypto-cache`) executes every
//! cryptographic operation; it still shares equal payload blocks, which is a matter of
//! memory, not of cryptography (the decryption then runs over a copy of the whole
//! ciphertext, as on a device). Either way it counts operations executed and reused
//! ([`MemoStats`]). It is shared by the nodes of one run through cheap clones (`Rc`): one
//! run is one thread.
//!
//! What the *device* pays in simulated CPU time is accounted elsewhere, per operation the
//! protocol performs, and does not depend on the memo.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::sync::Arc;

use sha2::{Digest as _, Sha256};

use crate::coap::BodyStore;
use crate::credential::DecodedCredential;
use crate::keys::PublicKey;
use crate::suit::Envelope;

/// Counts of one memoised operation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpCount {
    /// Computed for real.
    pub executed: u64,
    /// Answered from the memo.
    pub reused: u64,
}

impl OpCount {
    fn count(&mut self, reused: bool) {
        if reused {
            self.reused += 1;
        } else {
            self.executed += 1;
        }
    }
}

/// What a memo did in a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemoStats {
    /// Whether memoisation was on.
    pub enabled: bool,
    /// ES256 signature verifications.
    pub signature_verifications: OpCount,
    /// Payload decryptions (A128GCM over a whole payload).
    pub payload_decryptions: OpCount,
    /// SHA-256 digests of whole images.
    pub image_digests: OpCount,
    /// Payload blocks received: `executed` counts blocks stored as new buffers, `reused`
    /// blocks that refer to an equal block already held.
    pub payload_blocks: OpCount,
}

/// One verification, kept in full.
type SignatureKey = (Vec<u8>, Vec<u8>, Vec<u8>);
/// One decryption: key, encoded COSE_Encrypt, address of the canonical list of the
/// ciphertext's blocks (see `Memo::bodies`).
type DecryptionKey = ([u8; 16], Vec<u8>, usize);
/// Interned blocks (indices into `Memo::interned`) with the same (length, first 16 bytes).
type BlockBucket = Vec<BlockId>;
/// A decryption's ciphertext (kept alive) and plaintext (`None`: it failed).
type Decryption = (SharedBytes, Option<Arc<[u8]>>);

/// An interned block's index in its memo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockId(u32);

struct InternedBlock {
    bytes: Arc<[u8]>,
    successor: Option<BlockId>,
}

#[derive(Default)]
struct Memo {
    stats: MemoStats,
    signatures: BTreeMap<SignatureKey, bool>,
    /// Interned blocks by (length, first bytes): a cheap key that almost always singles
    /// out one block, which is then compared in full.
    blocks: BTreeMap<(usize, [u8; 16]), BlockBucket>,
    /// The interned blocks, each with the block that last followed it in a body: the
    /// first candidate for the next block of a body, compared in full before it is used.
    interned: Vec<InternedBlock>,
    /// The canonical list of blocks of each body received or decrypted, by the addresses
    /// of its blocks: one list per sequence of blocks, so that the list's own address
    /// stands for the sequence (the entry keeps the list alive).
    bodies: BTreeMap<Vec<usize>, SharedBytes>,
    /// The addresses of the lists in `bodies`.
    canonical: BTreeSet<usize>,
    /// The canonical body registered last that starts with the block at this address: the
    /// one a new body starting with that block is matched against.
    body_starting: BTreeMap<usize, SharedBytes>,
    /// Each entry keeps the blocks it was computed from alive.
    decryptions: BTreeMap<DecryptionKey, Decryption>,
    /// Keyed by buffer address; the entry keeps the buffer alive.
    digests: BTreeMap<usize, (Arc<[u8]>, [u8; 32])>,
    /// Envelopes decoded, by their encoding.
    envelopes: BTreeMap<Vec<u8>, Arc<Envelope>>,
    /// Credentials decoded, by their encoding.
    credentials: BTreeMap<Vec<u8>, Arc<DecodedCredential>>,
}

/// A run-wide memo of pure cryptographic functions and interned payload blocks; clones
/// share it. See the [module documentation](self).
#[derive(Clone)]
pub struct CryptoMemo {
    enabled: bool,
    memo: Rc<RefCell<Memo>>,
}

impl std::fmt::Debug for CryptoMemo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CryptoMemo")
            .field("stats", &self.stats())
            .finish()
    }
}

impl Default for CryptoMemo {
    /// A disabled memo: everything is executed.
    fn default() -> Self {
        Self::disabled()
    }
}

impl CryptoMemo {
    /// A memo that reuses results.
    pub fn new() -> Self {
        Self::with_enabled(true)
    }

    /// A memo that executes every cryptographic operation (and still shares equal blocks).
    pub fn disabled() -> Self {
        Self::with_enabled(false)
    }

    /// A memo that reuses results if `enabled`.
    pub fn with_enabled(enabled: bool) -> Self {
        let memo = Memo {
            stats: MemoStats {
                enabled,
                ..MemoStats::default()
            },
            ..Memo::default()
        };
        CryptoMemo {
            enabled,
            memo: Rc::new(RefCell::new(memo)),
        }
    }

    /// The counts so far.
    pub fn stats(&self) -> MemoStats {
        self.memo.borrow().stats
    }

    /// Verify an ES256 `signature` over `message` with `key` (see [`PublicKey::verify`]).
    pub fn verify_signature(&self, key: &PublicKey, message: &[u8], signature: &[u8]) -> bool {
        if !self.enabled {
            self.memo
                .borrow_mut()
                .stats
                .signature_verifications
                .count(false);
            return key.verify(message, signature);
        }
        let entry = (key.to_sec1(), message.to_vec(), signature.to_vec());
        let mut memo = self.memo.borrow_mut();
        let known = memo.signatures.get(&entry).copied();
        memo.stats.signature_verifications.count(known.is_some());
        match known {
            Some(valid) => valid,
            None => {
                let valid = key.verify(message, signature);
                memo.signatures.insert(entry, valid);
                valid
            }
        }
    }

    /// A received payload block as a shared buffer: the one already held with the same
    /// bytes, if any.
    pub fn block(&self, bytes: &[u8]) -> Arc<[u8]> {
        let (id, _) = self.intern_after(None, bytes);
        self.interned(id)
    }

    /// The shared buffer of an interned block.
    fn interned(&self, id: BlockId) -> Arc<[u8]> {
        Arc::clone(&self.memo.borrow().interned[id.0 as usize].bytes)
    }

    /// Interns a received block that follows block `previous` in a body: the block that
    /// followed `previous` last time is tried first (compared in full), which spares the
    /// lookup when devices fetch the same image in the same blocks. Returns the block and
    /// the address of its buffer.
    fn intern_after(&self, previous: Option<BlockId>, bytes: &[u8]) -> (BlockId, usize) {
        let mut guard = self.memo.borrow_mut();
        let memo = &mut *guard;
        let hint = previous.and_then(|p| memo.interned.get(p.0 as usize)?.successor);
        if let Some(id) = hint
            && let Some(known) = memo.interned.get(id.0 as usize)
            && *known.bytes == *bytes
        {
            memo.stats.payload_blocks.count(true);
            return (id, known.bytes.as_ptr() as usize);
        }
        let mut prefix = [0u8; 16];
        let n = bytes.len().min(16);
        prefix[..n].copy_from_slice(&bytes[..n]);
        let same = memo.blocks.entry((bytes.len(), prefix)).or_default();
        let interned = &mut memo.interned;
        let found = same
            .iter()
            .copied()
            .find(|id| *interned[id.0 as usize].bytes == *bytes);
        let id = match found {
            Some(id) => {
                memo.stats.payload_blocks.count(true);
                id
            }
            None => {
                // Fewer than 2^32 distinct blocks: a run holds them all in memory.
                let id = BlockId(u32::try_from(interned.len()).unwrap_or(u32::MAX));
                interned.push(InternedBlock {
                    bytes: Arc::from(bytes),
                    successor: None,
                });
                same.push(id);
                memo.stats.payload_blocks.count(false);
                id
            }
        };
        if let Some(p) = previous
            && let Some(entry) = interned.get_mut(p.0 as usize)
        {
            entry.successor = Some(id);
        }
        (id, interned[id.0 as usize].bytes.as_ptr() as usize)
    }

    /// The canonical list with the same blocks as `body` (see `Memo::bodies`), registered
    /// as the reference for bodies that start with its first block.
    fn register_body(&self, body: SharedBytes) -> SharedBytes {
        let mut memo = self.memo.borrow_mut();
        if memo.canonical.contains(&body.list_address()) {
            return body;
        }
        let canonical = memo.bodies.entry(body.addresses()).or_insert(body).clone();
        memo.canonical.insert(canonical.list_address());
        if let Some(first) = canonical.chunks.first() {
            let first = first.as_ptr() as usize;
            memo.body_starting.insert(first, canonical.clone());
        }
        canonical
    }

    /// The canonical body registered last that starts with the block at `address`.
    fn body_starting(&self, address: usize) -> Option<SharedBytes> {
        self.memo.borrow().body_starting.get(&address).cloned()
    }

    /// Decrypt `ciphertext` with `key` under the encoded COSE_Encrypt `structure`, with
    /// `decrypt` (given the ciphertext's blocks) doing the real work; `None` if it fails
    /// (a failure is memoised too: the same inputs always fail).
    pub fn decrypt_payload(
        &self,
        key: &[u8; 16],
        structure: &[u8],
        ciphertext: &SharedBytes,
        decrypt: impl FnOnce(&SharedBytes) -> Option<Arc<[u8]>>,
    ) -> Option<Arc<[u8]>> {
        if !self.enabled {
            self.memo
                .borrow_mut()
                .stats
                .payload_decryptions
                .count(false);
            return decrypt(ciphertext);
        }
        // The canonical list stands for the sequence of blocks (and is kept alive by the
        // entry, so its address cannot stand for another).
        let ciphertext = &self.register_body(ciphertext.clone());
        let entry = (*key, structure.to_vec(), ciphertext.list_address());
        let mut memo = self.memo.borrow_mut();
        if let Some((_, plain)) = memo.decryptions.get(&entry) {
            let plain = plain.clone();
            memo.stats.payload_decryptions.count(true);
            return plain;
        }
        let plain = decrypt(ciphertext);
        memo.stats.payload_decryptions.count(false);
        memo.decryptions
            .insert(entry, (ciphertext.clone(), plain.clone()));
        plain
    }

    /// The envelope `bytes` decode to with `decode`: decoded once per run for the same
    /// bytes (compared in full) and shared, unless the memo is disabled. A failure is not
    /// kept.
    pub fn envelope<E>(
        &self,
        bytes: &[u8],
        decode: impl FnOnce(&[u8]) -> Result<Envelope, E>,
    ) -> Result<Arc<Envelope>, E> {
        self.decode_once(|m| &mut m.envelopes, bytes, decode)
    }

    /// The credential `bytes` decode to with `decode`, like [`CryptoMemo::envelope`]:
    /// decoded once per run for the same bytes and shared, unless the memo is disabled.
    pub fn credential<E>(
        &self,
        bytes: &[u8],
        decode: impl FnOnce(&[u8]) -> Result<DecodedCredential, E>,
    ) -> Result<Arc<DecodedCredential>, E> {
        self.decode_once(|m| &mut m.credentials, bytes, decode)
    }

    /// `decode(bytes)`, kept in the memo's `cache` by the bytes and shared when enabled.
    fn decode_once<T, E>(
        &self,
        cache: fn(&mut Memo) -> &mut BTreeMap<Vec<u8>, Arc<T>>,
        bytes: &[u8],
        decode: impl FnOnce(&[u8]) -> Result<T, E>,
    ) -> Result<Arc<T>, E> {
        if !self.enabled {
            return decode(bytes).map(Arc::new);
        }
        if let Some(known) = cache(&mut self.memo.borrow_mut()).get(bytes) {
            return Ok(Arc::clone(known));
        }
        // Decoding never calls back into the memo: no borrow is held across it.
        let value = Arc::new(decode(bytes)?);
        cache(&mut self.memo.borrow_mut()).insert(bytes.to_vec(), Arc::clone(&value));
        Ok(value)
    }

    /// The SHA-256 of a shared image buffer.
    pub fn sha256(&self, image: &Arc<[u8]>) -> [u8; 32] {
        if !self.enabled {
            self.memo.borrow_mut().stats.image_digests.count(false);
            return Sha256::digest(image).into();
        }
        let address = image.as_ptr() as usize;
        let mut memo = self.memo.borrow_mut();
        if let Some((_, digest)) = memo.digests.get(&address) {
            let digest = *digest;
            memo.stats.image_digests.count(true);
            return digest;
        }
        let digest: [u8; 32] = Sha256::digest(image).into();
        memo.stats.image_digests.count(false);
        memo.digests.insert(address, (Arc::clone(image), digest));
        digest
    }
}

/// Bytes held as a list of shared buffers (received payload blocks). Clones share the
/// list; a push into a shared list copies it first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SharedBytes {
    chunks: Arc<Vec<Arc<[u8]>>>,
    len: usize,
}

impl SharedBytes {
    /// Empty.
    pub fn new() -> Self {
        Self::default()
    }

    /// Empty, with room for `chunks` buffers.
    pub fn with_capacity(chunks: usize) -> Self {
        Self {
            chunks: Arc::new(Vec::with_capacity(chunks)),
            len: 0,
        }
    }

    /// Append a shared buffer.
    pub fn push(&mut self, chunk: Arc<[u8]>) {
        self.len += chunk.len();
        Arc::make_mut(&mut self.chunks).push(chunk);
    }

    /// The first `chunks` buffers, in a list of their own with room for `capacity`.
    fn prefix(&self, chunks: usize, capacity: usize) -> SharedBytes {
        let mut list = Vec::with_capacity(capacity.max(chunks));
        list.extend(self.chunks.iter().take(chunks).cloned());
        let len = list.iter().map(|c| c.len()).sum();
        SharedBytes {
            chunks: Arc::new(list),
            len,
        }
    }

    /// The number of bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bytes, copied into one buffer.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len);
        for c in self.chunks.iter() {
            out.extend_from_slice(c);
        }
        out
    }

    /// Copy the bytes from `offset` on into `out`, as many as fit (fewer if the bytes end
    /// first).
    pub fn copy_to(&self, offset: usize, out: &mut [u8]) {
        let mut skip = offset;
        let mut written = 0;
        for chunk in self.chunks.iter() {
            if written == out.len() {
                break;
            }
            if skip >= chunk.len() {
                skip -= chunk.len();
                continue;
            }
            let part = &chunk[skip..];
            skip = 0;
            let n = part.len().min(out.len() - written);
            out[written..written + n].copy_from_slice(&part[..n]);
            written += n;
        }
    }

    /// The addresses of the buffers, in order (equal lists of live buffers mean equal
    /// bytes, as buffers are never changed).
    fn addresses(&self) -> Vec<usize> {
        self.chunks.iter().map(|c| c.as_ptr() as usize).collect()
    }

    /// The address of the list of buffers (shared by clones).
    fn list_address(&self) -> usize {
        Arc::as_ptr(&self.chunks) as usize
    }
}

/// A Block2 body store that keeps each block as a shared buffer from a memo, so that a
/// device downloading an image holds references, not a copy.
///
/// While its blocks are those of a body received before (the same interned buffers, in
/// the same order), it holds that body's list and counts the blocks matched: a device
/// fetching an image that others fetched writes nothing per block, and ends up sharing
/// their list. At the first difference it copies the matched part into a list of its own.
#[derive(Debug, Clone)]
pub struct InternedBody {
    memo: CryptoMemo,
    last: Option<BlockId>,
    len: usize,
    blocks: Received,
    /// The number of blocks announced, to size a list of its own.
    capacity: usize,
}

/// The blocks an [`InternedBody`] has received.
#[derive(Debug, Clone)]
enum Received {
    /// No block yet.
    Nothing,
    /// The first `matched` blocks of `reference`, a canonical body of the memo.
    Prefix {
        reference: SharedBytes,
        matched: usize,
    },
    /// A list of their own.
    Own(SharedBytes),
}

impl InternedBody {
    /// An empty body whose blocks are interned in `memo`.
    pub fn new(memo: CryptoMemo) -> Self {
        Self::with_capacity(memo, 0)
    }

    /// An empty body with room for `blocks` blocks, should it need a list of its own,
    /// before that list grows: a device that knows the payload's size asks for all its
    /// blocks at once, rather than copying the list at every doubling, each time into
    /// memory not touched before.
    pub fn with_capacity(memo: CryptoMemo, blocks: usize) -> Self {
        InternedBody {
            memo,
            last: None,
            len: 0,
            blocks: Received::Nothing,
            capacity: blocks,
        }
    }

    /// The bytes received, in the memo's canonical list for their blocks.
    pub fn into_bytes(self) -> SharedBytes {
        match self.blocks {
            Received::Prefix { reference, matched } if matched == reference.chunks.len() => {
                reference
            }
            Received::Prefix { reference, matched } => {
                self.memo.register_body(reference.prefix(matched, matched))
            }
            Received::Nothing => self.memo.register_body(SharedBytes::new()),
            Received::Own(own) => self.memo.register_body(own),
        }
    }
}

impl BodyStore for InternedBody {
    fn len(&self) -> usize {
        self.len
    }

    fn append(&mut self, block: &[u8]) {
        let (id, address) = self.memo.intern_after(self.last, block);
        self.last = Some(id);
        self.len += block.len();
        match &mut self.blocks {
            Received::Prefix { reference, matched } => {
                let expected = reference.chunks.get(*matched);
                if expected.is_some_and(|c| c.as_ptr() as usize == address) {
                    *matched += 1;
                    return;
                }
                let mut own = reference.prefix(*matched, self.capacity);
                own.push(self.memo.interned(id));
                self.blocks = Received::Own(own);
            }
            Received::Nothing => {
                // The first block: match against the last body that started with it.
                match self.memo.body_starting(address) {
                    Some(reference) => {
                        self.blocks = Received::Prefix {
                            reference,
                            matched: 1,
                        }
                    }
                    None => {
                        let mut own = SharedBytes::with_capacity(self.capacity);
                        own.push(self.memo.interned(id));
                        self.blocks = Received::Own(own);
                    }
                }
            }
            Received::Own(own) => own.push(self.memo.interned(id)),
        }
    }
}

impl From<Vec<u8>> for SharedBytes {
    fn from(bytes: Vec<u8>) -> Self {
        let mut s = SharedBytes::new();
        if !bytes.is_empty() {
            s.push(Arc::from(bytes));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::PrivateKey;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    fn key() -> PrivateKey {
        PrivateKey::generate(&mut ChaCha20Rng::seed_from_u64(1), None)
    }

    #[test]
    fn a_signature_is_verified_once_and_tampered_bytes_always_miss() {
        let k = key();
        let sig = k.sign(b"manifest");
        for memo in [CryptoMemo::new(), CryptoMemo::disabled()] {
            for _ in 0..3 {
                assert!(memo.verify_signature(k.public_key(), b"manifest", &sig));
            }
            // One byte changed in the message, the signature, or another key: all fail.
            assert!(!memo.verify_signature(k.public_key(), b"manifesT", &sig));
            let mut bad = sig;
            bad[10] ^= 1;
            assert!(!memo.verify_signature(k.public_key(), b"manifest", &bad));
            let other = PrivateKey::generate(&mut ChaCha20Rng::seed_from_u64(2), None);
            assert!(!memo.verify_signature(other.public_key(), b"manifest", &sig));
            // A failure is remembered as a failure.
            assert!(!memo.verify_signature(k.public_key(), b"manifesT", &sig));
            let s = memo.stats().signature_verifications;
            if memo.stats().enabled {
                assert_eq!((s.executed, s.reused), (4, 3));
            } else {
                assert_eq!((s.executed, s.reused), (7, 0));
            }
        }
    }

    #[test]
    fn equal_blocks_share_one_buffer_and_decrypt_once() {
        let memo = CryptoMemo::new();
        let a = memo.block(b"block one");
        let b = memo.block(b"block one");
        assert!(Arc::ptr_eq(&a, &b));
        let c = memo.block(b"block two");
        assert!(!Arc::ptr_eq(&a, &c));
        // Same length and first 16 bytes, another last byte: another block.
        let long1 = memo.block(b"0123456789abcdef tail 1");
        let long2 = memo.block(b"0123456789abcdef tail 2");
        assert!(!Arc::ptr_eq(&long1, &long2));
        assert_eq!(&long2[..], b"0123456789abcdef tail 2");
        assert!(Arc::ptr_eq(&long2, &memo.block(b"0123456789abcdef tail 2")));
        let body = |m: &CryptoMemo, second: &[u8]| {
            let mut s = SharedBytes::new();
            s.push(m.block(b"block one"));
            s.push(m.block(second));
            s
        };
        let mut calls = 0;
        let mut decrypt = |m: &CryptoMemo, s: &SharedBytes| {
            m.decrypt_payload(&[7; 16], b"structure", s, |ct| {
                calls += 1;
                Some(ct.to_vec().iter().rev().copied().collect())
            })
        };
        let p1 = decrypt(&memo, &body(&memo, b"block two")).unwrap();
        let p2 = decrypt(&memo, &body(&memo, b"block two")).unwrap();
        assert!(Arc::ptr_eq(&p1, &p2), "the plaintext is shared");
        // A tampered block is a different buffer: decrypted for real.
        let p3 = decrypt(&memo, &body(&memo, b"block tw0")).unwrap();
        assert_ne!(p1, p3);
        assert_eq!(calls, 2);
        let s = memo.stats();
        assert_eq!(
            (s.payload_decryptions.executed, s.payload_decryptions.reused),
            (2, 1)
        );
        assert_eq!(memo.sha256(&p1), memo.sha256(&p2));
        assert_eq!(memo.sha256(&p1), <[u8; 32]>::from(Sha256::digest(&p1[..])));
        assert_eq!(memo.stats().image_digests.reused, 2);
    }

    #[test]
    fn a_body_tries_the_last_successor_first_and_still_compares_in_full() {
        let memo = CryptoMemo::new();
        let receive = |blocks: &[&[u8]]| {
            let mut body = InternedBody::new(memo.clone());
            for b in blocks {
                body.append(b);
            }
            body.into_bytes()
        };
        let genuine: [&[u8]; 3] = [b"first block", b"second block", b"third block"];
        let one = receive(&genuine);
        let two = receive(&genuine);
        assert_eq!(one.addresses(), two.addresses());
        // The successor of the first block is known; a tampered second block (same length,
        // same first bytes) must not be taken for it.
        let three = receive(&[b"first block", b"second blocK", b"third block"]);
        assert_eq!(three.to_vec(), b"first blocksecond blocKthird block");
        assert_ne!(one.addresses()[1], three.addresses()[1]);
        assert_eq!(one.addresses()[2], three.addresses()[2]);
        // The hint now points at the tampered block: the genuine one is still found.
        let four = receive(&genuine);
        assert_eq!(one.addresses(), four.addresses());
        assert_eq!(four.to_vec(), b"first blocksecond blockthird block");
        // Bodies with the same blocks share one list, however they were received.
        assert_eq!(one.list_address(), two.list_address());
        assert_eq!(one.list_address(), four.list_address());
        assert_ne!(one.list_address(), three.list_address());
        // A body that stops early, or goes on past a known one, has its own bytes.
        let short = receive(&genuine[..2]);
        assert_eq!(short.to_vec(), b"first blocksecond block");
        assert_eq!(short.len(), 23);
        let long = receive(&[b"first block", b"second block", b"third block", b"more"]);
        assert_eq!(long.to_vec(), b"first blocksecond blockthird blockmore");
        assert_eq!(one.to_vec(), b"first blocksecond blockthird block");
        let s = memo.stats().payload_blocks;
        assert_eq!((s.executed, s.reused), (5, 13));
    }

    #[test]
    fn copy_to_reads_any_range_across_blocks() {
        let mut shared = SharedBytes::new();
        for chunk in [&b"abc"[..], b"", b"defgh", b"i", b"jklmnop"] {
            shared.push(Arc::from(chunk));
        }
        let whole = shared.to_vec();
        assert_eq!(whole, b"abcdefghijklmnop");
        for offset in 0..=whole.len() + 2 {
            for len in 0..=whole.len() + 2 {
                let mut out = vec![b'-'; len];
                shared.copy_to(offset, &mut out);
                let start = offset.min(whole.len());
                let end = (offset + len).min(whole.len());
                let n = end - start;
                assert_eq!(&out[..n], &whole[start..end], "offset {offset}, len {len}");
                assert!(out[n..].iter().all(|&b| b == b'-'), "nothing past the end");
            }
        }
    }

    #[test]
    fn a_disabled_memo_shares_blocks_but_computes_everything() {
        let memo = CryptoMemo::disabled();
        let a = memo.block(b"same");
        let b = memo.block(b"same");
        assert!(Arc::ptr_eq(&a, &b));
        let mut s = SharedBytes::new();
        s.push(a);
        let mut calls = 0;
        for _ in 0..2 {
            memo.decrypt_payload(&[1; 16], b"x", &s, |ct| {
                calls += 1;
                Some(Arc::from(ct.to_vec()))
            });
        }
        assert_eq!(calls, 2);
        let stats = memo.stats();
        assert_eq!(
            (stats.payload_blocks.executed, stats.payload_blocks.reused),
            (1, 1)
        );
        assert_eq!(stats.payload_decryptions.executed, 2);
    }
}
