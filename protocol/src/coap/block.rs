//! The Block1/Block2 option value (RFC 7959 section 2.2), block sizes, and the errors of
//! block-wise transfer.

use std::collections::LinkedList;

use coap_lite::{CoapOption, MessageClass, Packet, ResponseType};

use super::received::Message;

/// Which block option: Block1 (request body) or Block2 (response body).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BlockOption {
    /// Block1 (option 27), with Size1 (option 60).
    Block1,
    /// Block2 (option 23), with Size2 (option 28).
    Block2,
}

impl BlockOption {
    /// The option number of the block option itself.
    pub fn number(self) -> u16 {
        u16::from(self.coap_option())
    }

    /// The option number of the matching size option (Size1 or Size2).
    pub fn size_number(self) -> u16 {
        u16::from(self.size_option())
    }

    fn coap_option(self) -> CoapOption {
        match self {
            BlockOption::Block1 => CoapOption::Block1,
            BlockOption::Block2 => CoapOption::Block2,
        }
    }

    fn size_option(self) -> CoapOption {
        match self {
            BlockOption::Block1 => CoapOption::Size1,
            BlockOption::Block2 => CoapOption::Size2,
        }
    }
}

/// A block size: 16 to 1024 bytes in powers of two, encoded as SZX 0 to 6.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BlockSize(u8);

impl BlockSize {
    /// 16 bytes (SZX 0).
    pub const MIN: BlockSize = BlockSize(0);
    /// 1024 bytes (SZX 6).
    pub const MAX: BlockSize = BlockSize(6);

    /// The size with exponent `szx` (size = 2^(szx + 4)); SZX 7 is reserved.
    pub const fn from_szx(szx: u8) -> Result<Self, BlockError> {
        if szx <= 6 {
            Ok(BlockSize(szx))
        } else {
            Err(BlockError::ReservedSzx)
        }
    }

    /// The size of exactly `bytes` bytes, which must be a power of two from 16 to 1024.
    pub fn from_bytes(bytes: usize) -> Result<Self, BlockError> {
        (0..=6u8)
            .map(BlockSize)
            .find(|s| s.bytes() == bytes)
            .ok_or(BlockError::InvalidSize(bytes))
    }

    /// The largest block size whose payload fits in a datagram of `mtu` bytes after
    /// `overhead` bytes of headers, options (and, for OSCORE, tag and inner options), or
    /// `None` if not even 16 bytes fit.
    pub fn for_mtu(mtu: usize, overhead: usize) -> Option<Self> {
        let room = mtu.checked_sub(overhead)?;
        (0..=6u8).rev().map(BlockSize).find(|s| s.bytes() <= room)
    }

    /// The exponent SZX.
    pub const fn szx(self) -> u8 {
        self.0
    }

    /// The size in bytes.
    pub const fn bytes(self) -> usize {
        16 << self.0
    }
}

/// A decoded Block1 or Block2 option value: block number NUM, more flag M, size SZX.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BlockValue {
    num: u32,
    more: bool,
    size: BlockSize,
}

impl BlockValue {
    /// The largest block number the 3-byte option can carry (2^20 - 1).
    pub const MAX_NUM: u32 = (1 << 20) - 1;

    /// A block value; fails if `num` exceeds [`BlockValue::MAX_NUM`].
    pub fn new(num: u32, more: bool, size: BlockSize) -> Result<Self, BlockError> {
        if num > Self::MAX_NUM {
            return Err(BlockError::NumTooLarge);
        }
        Ok(Self { num, more, size })
    }

    /// The block starting at byte `offset`, which must be a multiple of `size`.
    pub(super) fn at_offset(
        offset: usize,
        more: bool,
        size: BlockSize,
    ) -> Result<Self, BlockError> {
        if !offset.is_multiple_of(size.bytes()) {
            return Err(BlockError::Misaligned);
        }
        let num = u32::try_from(offset / size.bytes()).map_err(|_| BlockError::NumTooLarge)?;
        Self::new(num, more, size)
    }

    /// The block number NUM.
    pub const fn num(self) -> u32 {
        self.num
    }

    /// The M flag: more blocks follow (in a Block2 response or Block1 request).
    pub const fn more(self) -> bool {
        self.more
    }

    /// The block size.
    pub const fn size(self) -> BlockSize {
        self.size
    }

    /// The byte offset of this block in the body: NUM * size.
    pub const fn offset(self) -> u64 {
        self.num as u64 * self.size.bytes() as u64
    }

    /// Decodes an option value: an unsigned integer of 0 to 3 bytes, NUM in the high bits,
    /// then M, then SZX in the low 3 bits. Never panics.
    pub fn decode(value: &[u8]) -> Result<Self, BlockError> {
        if value.len() > 3 {
            return Err(BlockError::InvalidOption);
        }
        let raw = value.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b));
        Ok(Self {
            num: raw >> 4,
            more: raw & 0x08 != 0,
            size: BlockSize::from_szx((raw & 0x07) as u8)?,
        })
    }

    /// Encodes the option value in the fewest bytes (0 to 3).
    pub fn encode(self) -> Vec<u8> {
        encode_uint(u64::from(self.raw()))
    }

    /// The option value as an unsigned integer (before its minimal-length encoding: leading
    /// zero bytes dropped, RFC 7252 section 3.2).
    pub fn raw(self) -> u32 {
        (self.num << 4) | (u32::from(self.more) << 3) | u32::from(self.size.szx())
    }

    /// Reads the block option `which` from a message: `Ok(None)` if absent, an error if it
    /// is repeated or does not decode.
    pub fn read(packet: &impl CoapOptions, which: BlockOption) -> Result<Option<Self>, BlockError> {
        packet
            .single_option(which.coap_option())?
            .map(Self::decode)
            .transpose()
    }

    /// Sets the block option `which` of a message to this value, replacing any other.
    pub fn write(self, packet: &mut Packet, which: BlockOption) {
        packet.set_option(which.coap_option(), LinkedList::from([self.encode()]));
    }
}

/// Reads the size option (Size1 for [`BlockOption::Block1`], Size2 for
/// [`BlockOption::Block2`]) of a message: the total body size the sender announces.
pub fn read_size(packet: &impl CoapOptions, which: BlockOption) -> Result<Option<u64>, BlockError> {
    match packet.single_option(which.size_option())? {
        None => Ok(None),
        Some(value) if value.len() <= 4 => Ok(Some(
            value.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)),
        )),
        Some(_) => Err(BlockError::InvalidOption),
    }
}

/// Sets the size option (Size1 or Size2) of a message, replacing any other.
pub fn write_size(packet: &mut Packet, which: BlockOption, size: u32) {
    packet.set_option(
        which.size_option(),
        LinkedList::from([encode_uint(u64::from(size))]),
    );
}

/// A message whose options can be read: a `coap-lite` packet, or a [`Message`] as the
/// endpoint delivers it.
pub trait CoapOptions {
    /// The value of `option`, which may appear at most once
    /// ([`BlockError::RepeatedOption`] if it repeats).
    fn single_option(&self, option: CoapOption) -> Result<Option<&[u8]>, BlockError>;
}

impl CoapOptions for Packet {
    fn single_option(&self, option: CoapOption) -> Result<Option<&[u8]>, BlockError> {
        match self.get_option(option) {
            None => Ok(None),
            Some(values) if values.len() > 1 => Err(BlockError::RepeatedOption),
            Some(values) => Ok(values.front().map(Vec::as_slice)),
        }
    }
}

impl CoapOptions for Message {
    fn single_option(&self, option: CoapOption) -> Result<Option<&[u8]>, BlockError> {
        self.single_value(u16::from(option))
            .map_err(|()| BlockError::RepeatedOption)
    }
}

/// An unsigned integer option value in the fewest bytes (RFC 7252 section 3.2), without
/// allocating: the bytes are `buf[start..]` of the returned `(buf, start)`.
pub fn uint_bytes(value: u32) -> ([u8; 4], usize) {
    // The leading zero bytes (all four for zero, whose value is empty).
    let skip = (value.leading_zeros() / 8) as usize;
    (value.to_be_bytes(), skip)
}

/// An unsigned integer option value in the fewest bytes (RFC 7252 section 3.2).
fn encode_uint(value: u64) -> Vec<u8> {
    let bytes = value.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    bytes[skip..].to_vec()
}

/// Why a block option or a block-wise transfer step was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BlockError {
    /// The option value is longer than 3 bytes (4 for a size option).
    #[error("block option value too long")]
    InvalidOption,
    /// SZX 7, which is reserved.
    #[error("reserved block size exponent 7")]
    ReservedSzx,
    /// Not a power of two from 16 to 1024.
    #[error("{0} is not a valid block size")]
    InvalidSize(usize),
    /// The option appears more than once.
    #[error("block option repeated")]
    RepeatedOption,
    /// The block number does not fit in 20 bits.
    #[error("block number too large")]
    NumTooLarge,
    /// An offset that is not a multiple of the block size.
    #[error("offset not aligned to the block size")]
    Misaligned,
    /// A requested block starts beyond the end of the body (4.02 Bad Option).
    #[error("block at offset {offset} is beyond the body of {len} bytes")]
    OutOfRange {
        /// The requested offset.
        offset: u64,
        /// The body length.
        len: u64,
    },
    /// A block arrived out of order, or a block is missing (4.08 Request Entity Incomplete).
    #[error("expected the block at offset {expected}, got offset {got}")]
    UnexpectedBlock {
        /// The offset expected next.
        expected: u64,
        /// The offset received.
        got: u64,
    },
    /// A block with M set is not exactly the block size, or a block exceeds it.
    #[error("block payload length does not match its size")]
    SizeMismatch,
    /// The peer used a larger block size than was asked for.
    #[error("peer increased the block size")]
    SizeIncreased,
    /// The body would exceed the receiver's maximum (4.13 Request Entity Too Large).
    #[error("body exceeds the maximum of {max} bytes")]
    TooLarge {
        /// The receiver's maximum.
        max: usize,
    },
    /// The body does not match the size the peer announced in Size1/Size2, or the
    /// announcement changed.
    #[error("body does not match the announced size")]
    AnnouncedSizeMismatch,
    /// An expected block option is missing.
    #[error("block option missing")]
    MissingOption,
    /// A final response arrived before the last block was sent.
    #[error("final response before the last block")]
    PrematureResponse,
    /// The peer answered with this error code (the raw code byte, e.g. 0x8D for 4.13).
    #[error("peer rejected the block with code {0:#04x}")]
    Rejected(u8),
    /// The transfer is already complete.
    #[error("transfer already complete")]
    AlreadyComplete,
}

impl BlockError {
    /// The response code a server answers with when a request fails with this error
    /// (RFC 7959 sections 2.2 to 2.9): 4.02 for block options that do not decode or ask for
    /// a block out of range, 4.08 for a missing block, 4.13 for a body too large, 4.00
    /// otherwise.
    pub fn response_code(self) -> ResponseType {
        match self {
            BlockError::InvalidOption
            | BlockError::RepeatedOption
            | BlockError::NumTooLarge
            | BlockError::OutOfRange { .. } => ResponseType::BadOption,
            BlockError::UnexpectedBlock { .. } => ResponseType::RequestEntityIncomplete,
            BlockError::TooLarge { .. } => ResponseType::RequestEntityTooLarge,
            _ => ResponseType::BadRequest,
        }
    }

    pub(super) fn rejected(code: ResponseType) -> Self {
        BlockError::Rejected(u8::from(MessageClass::Response(code)))
    }
}
