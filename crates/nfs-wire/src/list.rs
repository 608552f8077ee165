//! XDR linked lists (`struct *list { item; list next; }`), which appear on
//! the wire as a "value follows" boolean before each item and a final
//! `FALSE`. Decoding is iterative, so a long list cannot exhaust the stack,
//! and every item consumes input, so the list is bounded by the record size.

use dittofs_xdr::{XdrError, XdrReader, XdrWriter};

pub(crate) fn encode_list<T>(
    w: &mut XdrWriter,
    items: &[T],
    mut item: impl FnMut(&mut XdrWriter, &T),
) {
    for it in items {
        w.bool(true);
        item(w, it);
    }
    w.bool(false);
}

pub(crate) fn decode_list<T>(
    r: &mut XdrReader,
    mut item: impl FnMut(&mut XdrReader) -> Result<T, XdrError>,
) -> Result<Vec<T>, XdrError> {
    let mut out = Vec::new();
    while r.bool()? {
        out.push(item(r)?);
    }
    Ok(out)
}
