//! Block-wise transfer state (RFC 7959) on option values and payload slices, so that it
//! works the same on an outer CoAP message and on an inner, OSCORE-protected one.
//!
//! - Response bodies: the server answers each request with [`serve_block2`] (stateless);
//!   the client drives a [`Block2Assembler`].
//! - Request bodies: the client drives a [`Block1Sender`]; the server a
//!   [`Block1Receiver`], answering 2.31 Continue until the last block.
//!
//! ETags and the Request-Tag option (RFC 9175) are not checked: in icsim the bodies
//! transferred are integrity-protected end to end (signed digests, OSCORE).

use coap_lite::ResponseType;

use super::block::{BlockError, BlockSize, BlockValue};

/// One block of a body: the option value to send with it and its payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockSlice<'a> {
    /// The block option value for this block.
    pub value: BlockValue,
    /// The block's bytes.
    pub payload: &'a [u8],
}

/// The outcome of a block-wise step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockStep {
    /// More blocks to go; the value is the block option for the next message to send
    /// (the next request of a [`Block2Assembler`] or [`Block1Sender`], or the 2.31 Continue
    /// of a [`Block1Receiver`]).
    Continue(BlockValue),
    /// The transfer is complete; the value is the block option of the last block (for a
    /// [`Block1Receiver`], the one to echo in the final response).
    Complete(BlockValue),
}

/// Serves the block of `body` asked for by a request's Block2 option (block 0 if the request
/// has none), at the requested size or `preferred` if smaller (RFC 7959 section 2.4: a server
/// may lower the size, keeping the offset). M is set when bytes follow the block.
///
/// A block starting at or beyond the end of a non-empty body is
/// [`BlockError::OutOfRange`] (answer 4.02 Bad Option). An empty body is one empty block.
pub fn serve_block2(
    body: &[u8],
    requested: Option<BlockValue>,
    preferred: BlockSize,
) -> Result<BlockSlice<'_>, BlockError> {
    let (size, offset) = match requested {
        None => (preferred, 0),
        Some(r) => (r.size().min(preferred), r.offset()),
    };
    let len = body.len() as u64;
    if offset > 0 && offset >= len {
        return Err(BlockError::OutOfRange { offset, len });
    }
    // In range, so `offset` < body.len() fits in usize.
    let start = offset as usize;
    let end = start.saturating_add(size.bytes()).min(body.len());
    let more = end < body.len();
    Ok(BlockSlice {
        value: BlockValue::at_offset(start, more, size)?,
        payload: &body[start..end],
    })
}

/// Where a Block2 transfer keeps the body it reassembles: a `Vec<u8>`, or a store that
/// shares equal blocks between transfers (`crate::memo::InternedBody`).
pub trait BodyStore {
    /// The number of bytes held.
    fn len(&self) -> usize;
    /// Whether no byte is held.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Append one block's payload.
    fn append(&mut self, block: &[u8]);
}

impl BodyStore for Vec<u8> {
    fn len(&self) -> usize {
        Vec::len(self)
    }
    fn append(&mut self, block: &[u8]) {
        self.extend_from_slice(block);
    }
}

/// Client side of a Block2 transfer: requests blocks in order and reassembles the body,
/// checking order, block sizes, the announced Size2 and a maximum total size, so that a
/// malicious server cannot make the body grow without bound.
#[derive(Clone, Debug)]
pub struct Block2Assembler<B = Vec<u8>> {
    body: B,
    max_size: usize,
    size: BlockSize,
    announced: Option<u64>,
    complete: bool,
}

impl Block2Assembler {
    /// A transfer asking for `preferred` blocks and accepting at most `max_size` bytes.
    pub fn new(preferred: BlockSize, max_size: usize) -> Self {
        Self::with_store(Vec::new(), preferred, max_size)
    }

    /// The bytes received so far.
    pub fn body(&self) -> &[u8] {
        &self.body
    }
}

impl<B: BodyStore> Block2Assembler<B> {
    /// A transfer into `store` (empty), asking for `preferred` blocks and accepting at most
    /// `max_size` bytes.
    pub fn with_store(store: B, preferred: BlockSize, max_size: usize) -> Self {
        Self {
            body: store,
            max_size,
            size: preferred,
            announced: None,
            complete: false,
        }
    }

    /// The Block2 option for the next request (M clear), or `None` once complete.
    pub fn next_request(&self) -> Option<BlockValue> {
        if self.complete {
            return None;
        }
        BlockValue::at_offset(self.body.len(), false, self.size).ok()
    }

    /// Takes a response to the request made with [`Block2Assembler::next_request`]: its
    /// Block2 option (`None` if the server sent the whole body without one), its Size2
    /// option if any, and its payload.
    pub fn handle_response(
        &mut self,
        block2: Option<BlockValue>,
        size2: Option<u64>,
        payload: &[u8],
    ) -> Result<BlockStep, BlockError> {
        if self.complete {
            return Err(BlockError::AlreadyComplete);
        }
        let Some(block) = block2 else {
            // A server that does not do block-wise sends everything at once; only an
            // answer to the first request can be that.
            if !self.body.is_empty() {
                return Err(BlockError::MissingOption);
            }
            if payload.len() > self.max_size {
                return Err(BlockError::TooLarge { max: self.max_size });
            }
            self.body.append(payload);
            self.complete = true;
            return Ok(BlockStep::Complete(BlockValue::new(0, false, self.size)?));
        };
        if block.size() > self.size {
            return Err(BlockError::SizeIncreased);
        }
        let expected = self.body.len() as u64;
        if block.offset() != expected {
            return Err(BlockError::UnexpectedBlock {
                expected,
                got: block.offset(),
            });
        }
        check_payload_len(block, payload)?;
        if let Some(size2) = size2 {
            if self.announced.is_some_and(|a| a != size2) {
                return Err(BlockError::AnnouncedSizeMismatch);
            }
            if size2 > self.max_size as u64 {
                return Err(BlockError::TooLarge { max: self.max_size });
            }
            self.announced = Some(size2);
        }
        let new_len = self.body.len() + payload.len();
        if new_len > self.max_size {
            return Err(BlockError::TooLarge { max: self.max_size });
        }
        if let Some(announced) = self.announced {
            let short_at_end = !block.more() && (new_len as u64) < announced;
            if new_len as u64 > announced || short_at_end {
                return Err(BlockError::AnnouncedSizeMismatch);
            }
        }
        self.body.append(payload);
        self.size = block.size();
        if block.more() {
            Ok(BlockStep::Continue(BlockValue::at_offset(
                new_len, false, self.size,
            )?))
        } else {
            self.complete = true;
            Ok(BlockStep::Complete(block))
        }
    }

    /// Whether the last block arrived.
    pub fn is_complete(&self) -> bool {
        self.complete
    }

    /// The reassembled body, or `None` if the transfer is not complete.
    pub fn into_body(self) -> Option<B> {
        self.complete.then_some(self.body)
    }
}

/// Client side of a Block1 transfer: splits a request body into blocks and follows the
/// server's 2.31 Continue responses, including a server asking for smaller blocks.
#[derive(Clone, Debug)]
pub struct Block1Sender {
    body: Vec<u8>,
    size: BlockSize,
    offset: usize,
    complete: bool,
}

impl Block1Sender {
    /// A transfer of `body` in blocks of `size`; fails if the body needs more than 2^20
    /// blocks.
    pub fn new(body: Vec<u8>, size: BlockSize) -> Result<Self, BlockError> {
        BlockValue::at_offset(block_floor(body.len(), size), false, size)?;
        Ok(Self {
            body,
            size,
            offset: 0,
            complete: false,
        })
    }

    /// The block to send next (its Block1 option and payload), or `None` once complete.
    pub fn current(&self) -> Option<BlockSlice<'_>> {
        if self.complete {
            return None;
        }
        let start = self.offset.min(self.body.len());
        let end = start.saturating_add(self.size.bytes()).min(self.body.len());
        let more = end < self.body.len();
        let value = BlockValue::at_offset(start, more, self.size).ok()?;
        Some(BlockSlice {
            value,
            payload: &self.body[start..end],
        })
    }

    /// Takes the response to the block from [`Block1Sender::current`]: its code and its
    /// Block1 option.
    ///
    /// 2.31 Continue advances to the next block (at the server's block size if it asked for
    /// a smaller one); 4.13 with a smaller Block1 size on the first block restarts at that
    /// size; any other success completes the transfer after the last block; anything else
    /// is an error.
    pub fn handle_response(
        &mut self,
        code: ResponseType,
        block1: Option<BlockValue>,
    ) -> Result<BlockStep, BlockError> {
        let Some(sent) = self.current() else {
            return Err(BlockError::AlreadyComplete);
        };
        let (sent_value, sent_len) = (sent.value, sent.payload.len());
        match code {
            ResponseType::Continue => {
                let echo = block1.ok_or(BlockError::MissingOption)?;
                check_echo(sent_value, echo)?;
                if !sent_value.more() {
                    return Err(BlockError::UnexpectedBlock {
                        expected: sent_value.offset(),
                        got: echo.offset(),
                    });
                }
                let offset = self.offset + sent_len;
                BlockValue::at_offset(
                    block_floor(self.body.len(), echo.size()),
                    false,
                    echo.size(),
                )?;
                self.offset = offset;
                self.size = echo.size();
                let next = self.current().ok_or(BlockError::AlreadyComplete)?;
                Ok(BlockStep::Continue(next.value))
            }
            ResponseType::RequestEntityTooLarge => match block1 {
                Some(hint) if self.offset == 0 && hint.size() < self.size => {
                    BlockValue::at_offset(
                        block_floor(self.body.len(), hint.size()),
                        false,
                        hint.size(),
                    )?;
                    self.size = hint.size();
                    let next = self.current().ok_or(BlockError::AlreadyComplete)?;
                    Ok(BlockStep::Continue(next.value))
                }
                _ => Err(BlockError::rejected(code)),
            },
            code if !code.is_error() => {
                if sent_value.more() {
                    return Err(BlockError::PrematureResponse);
                }
                if let Some(echo) = block1 {
                    check_echo(sent_value, echo)?;
                }
                self.complete = true;
                Ok(BlockStep::Complete(sent_value))
            }
            code => Err(BlockError::rejected(code)),
        }
    }

    /// Whether the final response arrived.
    pub fn is_complete(&self) -> bool {
        self.complete
    }
}

/// Server side of a Block1 transfer: reassembles a request body sent block by block,
/// checking order, block sizes and a maximum total size.
#[derive(Clone, Debug)]
pub struct Block1Receiver {
    body: Vec<u8>,
    max_size: usize,
    preferred: BlockSize,
    complete: bool,
}

impl Block1Receiver {
    /// A receiver accepting at most `max_size` bytes, asking clients for blocks of at most
    /// `preferred` (in the Block1 option it echoes).
    pub fn new(preferred: BlockSize, max_size: usize) -> Self {
        Self {
            body: Vec::new(),
            max_size,
            preferred,
            complete: false,
        }
    }

    /// Takes a request's Block1 option, Size1 option if any, and payload. On
    /// [`BlockStep::Continue`] answer 2.31 Continue with the returned Block1 value; on
    /// [`BlockStep::Complete`] process [`Block1Receiver::body`] and echo the value in the
    /// final response. On error answer with [`BlockError::response_code`] (with Size1 set to
    /// the maximum for 4.13) and start over with a new receiver.
    pub fn handle_request(
        &mut self,
        block1: BlockValue,
        size1: Option<u64>,
        payload: &[u8],
    ) -> Result<BlockStep, BlockError> {
        if self.complete {
            return Err(BlockError::AlreadyComplete);
        }
        let expected = self.body.len() as u64;
        if block1.offset() != expected {
            return Err(BlockError::UnexpectedBlock {
                expected,
                got: block1.offset(),
            });
        }
        if size1.is_some_and(|s| s > self.max_size as u64) {
            return Err(BlockError::TooLarge { max: self.max_size });
        }
        check_payload_len(block1, payload)?;
        if self.body.len() + payload.len() > self.max_size {
            return Err(BlockError::TooLarge { max: self.max_size });
        }
        self.body.extend_from_slice(payload);
        let echo = BlockValue::new(
            block1.num(),
            block1.more(),
            block1.size().min(self.preferred),
        )?;
        if block1.more() {
            Ok(BlockStep::Continue(echo))
        } else {
            self.complete = true;
            Ok(BlockStep::Complete(echo))
        }
    }

    /// Whether the last block arrived.
    pub fn is_complete(&self) -> bool {
        self.complete
    }

    /// The bytes received so far.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The reassembled body, or `None` if the transfer is not complete.
    pub fn into_body(self) -> Option<Vec<u8>> {
        self.complete.then_some(self.body)
    }
}

/// A block with M set must be exactly the block size; the last one at most that.
fn check_payload_len(block: BlockValue, payload: &[u8]) -> Result<(), BlockError> {
    let size = block.size().bytes();
    let fits = if block.more() {
        payload.len() == size
    } else {
        payload.len() <= size
    };
    if fits {
        Ok(())
    } else {
        Err(BlockError::SizeMismatch)
    }
}

/// The echoed Block1 must name the block sent, at the same or a smaller size.
fn check_echo(sent: BlockValue, echo: BlockValue) -> Result<(), BlockError> {
    if echo.size() > sent.size() {
        return Err(BlockError::SizeIncreased);
    }
    // RFC 7959 figure 7: a server lowering the size echoes the NUM it received.
    if echo.num() != sent.num() {
        return Err(BlockError::UnexpectedBlock {
            expected: sent.offset(),
            got: echo.offset(),
        });
    }
    Ok(())
}

/// The offset of the last block of a body of `len` bytes.
fn block_floor(len: usize, size: BlockSize) -> usize {
    len.saturating_sub(1) / size.bytes() * size.bytes()
}
