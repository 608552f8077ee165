//! REMOVE, RMDIR, RENAME and LINK: the procedures that remove, move or add
//! names of existing files.

use dittofs_xdr::{Xdr, XdrError, XdrReader, XdrWriter};

use super::result::NfsResult;
use super::types::{DirOpArgs3, NfsFh3, PostOpAttr, WccData};

#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Remove3Args {
    pub object: DirOpArgs3,
}

impl Xdr for Remove3Args {
    fn encode(&self, w: &mut XdrWriter) {
        self.object.encode(w);
    }

    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        Ok(Self {
            object: DirOpArgs3::decode(r)?,
        })
    }
}

/// The success body of REMOVE and RMDIR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Remove3ResOk {
    pub dir_wcc: WccData,
}

impl Xdr for Remove3ResOk {
    fn encode(&self, w: &mut XdrWriter) {
        self.dir_wcc.encode(w);
    }

    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        Ok(Self {
            dir_wcc: WccData::decode(r)?,
        })
    }
}

/// The failure body is the directory's `wcc_data`.
pub type Remove3Res = NfsResult<Remove3ResOk, WccData>;

/// RMDIR arguments have the same layout as REMOVE's.
pub type Rmdir3Args = Remove3Args;
pub type Rmdir3ResOk = Remove3ResOk;
pub type Rmdir3Res = NfsResult<Rmdir3ResOk, WccData>;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Rename3Args {
    pub from: DirOpArgs3,
    pub to: DirOpArgs3,
}

impl Xdr for Rename3Args {
    fn encode(&self, w: &mut XdrWriter) {
        self.from.encode(w);
        self.to.encode(w);
    }

    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        Ok(Self {
            from: DirOpArgs3::decode(r)?,
            to: DirOpArgs3::decode(r)?,
        })
    }
}

/// Both the success and the failure body of RENAME.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Rename3ResOk {
    pub fromdir_wcc: WccData,
    pub todir_wcc: WccData,
}

impl Xdr for Rename3ResOk {
    fn encode(&self, w: &mut XdrWriter) {
        self.fromdir_wcc.encode(w);
        self.todir_wcc.encode(w);
    }

    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        Ok(Self {
            fromdir_wcc: WccData::decode(r)?,
            todir_wcc: WccData::decode(r)?,
        })
    }
}

pub type Rename3ResFail = Rename3ResOk;
pub type Rename3Res = NfsResult<Rename3ResOk, Rename3ResFail>;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Link3Args {
    pub file: NfsFh3,
    pub link: DirOpArgs3,
}

impl Xdr for Link3Args {
    fn encode(&self, w: &mut XdrWriter) {
        self.file.encode(w);
        self.link.encode(w);
    }

    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        Ok(Self {
            file: NfsFh3::decode(r)?,
            link: DirOpArgs3::decode(r)?,
        })
    }
}

/// Both the success and the failure body of LINK.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Link3ResOk {
    pub file_attributes: PostOpAttr,
    pub linkdir_wcc: WccData,
}

impl Xdr for Link3ResOk {
    fn encode(&self, w: &mut XdrWriter) {
        w.optional(self.file_attributes.as_ref());
        self.linkdir_wcc.encode(w);
    }

    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        Ok(Self {
            file_attributes: r.optional()?,
            linkdir_wcc: WccData::decode(r)?,
        })
    }
}

pub type Link3ResFail = Link3ResOk;
pub type Link3Res = NfsResult<Link3ResOk, Link3ResFail>;
