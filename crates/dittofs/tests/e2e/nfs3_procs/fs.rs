//! FSSTAT, FSINFO and PATHCONF.

use nfs3_types::nfs3::*;

use super::*;

#[tokio::test]
async fn fsstat_reports_real_space_and_files() {
    let (_server, mut c, root) = setup().await;
    let r = ok(
        c.fsstat(&FSSTAT3args {
            fsroot: root.clone(),
        })
        .await
        .expect("FSSTAT rpc"),
        "FSSTAT",
    );
    assert!(r.fbytes > 0, "free bytes: {}", r.fbytes);
    assert!(
        r.tbytes >= r.fbytes,
        "total {} >= free {}",
        r.tbytes,
        r.fbytes
    );
    assert!(
        r.fbytes >= r.abytes,
        "free {} >= available {}",
        r.fbytes,
        r.abytes
    );
    assert!(
        r.tfiles >= r.ffiles && r.ffiles >= r.afiles,
        "file counts: {r:?}"
    );
    assert!(r.tfiles > r.ffiles, "the root directory is one file in use");
    assert_eq!(attrs(r.obj_attributes, "FSSTAT").type_, ftype3::NF3DIR);

    // FSSTAT works on any handle in the file system.
    let (fh, _) = create_file(&mut c, &root, "f").await;
    let r = ok(
        c.fsstat(&FSSTAT3args { fsroot: fh })
            .await
            .expect("FSSTAT rpc"),
        "FSSTAT of a file",
    );
    assert_eq!(attrs(r.obj_attributes, "FSSTAT").type_, ftype3::NF3REG);
}

#[tokio::test]
async fn fsinfo_reports_limits_and_properties() {
    let (_server, mut c, root) = setup().await;
    let r = ok(
        c.fsinfo(&FSINFO3args {
            fsroot: root.clone(),
        })
        .await
        .expect("FSINFO rpc"),
        "FSINFO",
    );
    assert_eq!(r.rtmax, 1 << 20, "rtmax");
    assert_eq!(r.wtmax, 1 << 20, "wtmax");
    assert!(r.rtpref > 0 && r.rtpref <= r.rtmax, "rtpref {}", r.rtpref);
    assert!(r.wtpref > 0 && r.wtpref <= r.wtmax, "wtpref {}", r.wtpref);
    assert!(r.rtmult > 0 && r.wtmult > 0, "multiples");
    assert!(r.dtpref > 0, "dtpref");
    assert!(r.maxfilesize >= 1 << 40, "maxfilesize {}", r.maxfilesize);
    assert_eq!(
        r.time_delta,
        nfstime3 {
            seconds: 0,
            nseconds: 1
        },
        "nanosecond timestamps"
    );
    for (flag, what) in [
        (FSF3_LINK, "LINK"),
        (FSF3_SYMLINK, "SYMLINK"),
        (FSF3_HOMOGENEOUS, "HOMOGENEOUS"),
        (FSF3_CANSETTIME, "CANSETTIME"),
    ] {
        assert_ne!(r.properties & flag, 0, "FSINFO properties include {what}");
    }
    let a = attrs(r.obj_attributes, "FSINFO");
    assert_eq!(a.fileid, getattr(&mut c, &root).await.fileid);
}

#[tokio::test]
async fn pathconf_reports_name_and_link_limits() {
    let (_server, mut c, root) = setup().await;
    let (fh, _) = create_file(&mut c, &root, "f").await;
    for (what, obj) in [("root", root), ("file", fh)] {
        let r = ok(
            c.pathconf(&PATHCONF3args {
                object: obj.clone(),
            })
            .await
            .expect("PATHCONF rpc"),
            "PATHCONF",
        );
        assert_eq!(r.name_max, 255, "{what}: name_max");
        assert!(r.linkmax >= 1000, "{what}: linkmax {}", r.linkmax);
        assert!(r.no_trunc, "{what}: long names are refused, not truncated");
        assert!(r.chown_restricted, "{what}: chown_restricted");
        assert!(!r.case_insensitive, "{what}: case sensitive");
        assert!(r.case_preserving, "{what}: case preserving");
        let a = attrs(r.obj_attributes, "PATHCONF");
        assert_eq!(show(&a), show(&getattr(&mut c, &obj).await));
    }
}
