use bytes::Bytes;
use dittofs_meta::Timestamp;

use super::*;

fn write(inode: InodeId, offset: u64, data: &[u8]) -> Record {
    Record::Write {
        inode,
        offset,
        mtime: Timestamp { secs: 1, nanos: 2 },
        data: Bytes::copy_from_slice(data),
    }
}

fn segments(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn records_come_back_in_order_after_reopen() {
    let tmp = tempfile::tempdir().unwrap();
    let (j, rec) = Journal::open(tmp.path()).unwrap();
    assert!(rec.records.is_empty());
    let a = j.append(&write(1, 0, b"first")).unwrap();
    let b = j.append(&Record::Truncate { inode: 1, size: 3 }).unwrap();
    let c = j.append(&write(2, 9, &[7u8; 5000])).unwrap();
    assert!(a < b && b < c);
    j.sync().await.unwrap();
    drop(j);
    let (j, rec) = Journal::open(tmp.path()).unwrap();
    let lsns: Vec<Lsn> = rec.records.iter().map(|(l, _)| *l).collect();
    assert_eq!(lsns, vec![a, b, c]);
    assert_eq!(rec.records[0].1, write(1, 0, b"first"));
    assert_eq!(rec.records[2].1, write(2, 9, &[7u8; 5000]));
    // New records go after everything recovered.
    assert!(j.append(&write(3, 0, b"x")).unwrap() > c);
}

#[tokio::test]
async fn a_torn_tail_is_cut_off_and_the_rest_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let (j, _) = Journal::open(tmp.path()).unwrap();
    j.append(&write(1, 0, b"kept")).unwrap();
    j.append(&write(1, 4, b"torn!")).unwrap();
    drop(j);
    let seg = tmp.path().join(&segments(tmp.path())[0]);
    let len = std::fs::metadata(&seg).unwrap().len();
    let f = std::fs::OpenOptions::new().write(true).open(&seg).unwrap();
    f.set_len(len - 3).unwrap();
    let (_, rec) = Journal::open(tmp.path()).unwrap();
    assert_eq!(rec.records.len(), 1);
    assert_eq!(rec.records[0].1, write(1, 0, b"kept"));
    // The cut is permanent: the next start finds a clean journal.
    let (_, rec) = Journal::open(tmp.path()).unwrap();
    assert_eq!(rec.records.len(), 1);
}

#[tokio::test]
async fn damage_in_the_middle_stops_start_up_naming_segment_and_offset() {
    let tmp = tempfile::tempdir().unwrap();
    let (j, _) = Journal::open(tmp.path()).unwrap();
    j.append(&write(1, 0, b"one")).unwrap();
    let second = j.append(&write(1, 3, b"two")).unwrap();
    j.append(&write(1, 6, b"three")).unwrap();
    drop(j);
    let name = segments(tmp.path())[0].clone();
    let seg = tmp.path().join(&name);
    let mut bytes = std::fs::read(&seg).unwrap();
    let at = (second & 0xffff_ffff) as usize;
    bytes[at + 20] ^= 0xff;
    std::fs::write(&seg, &bytes).unwrap();
    match Journal::open(tmp.path()) {
        Err(JournalError::Corrupt { path, offset }) => {
            assert!(path.ends_with(&name), "{}", path.display());
            assert_eq!(offset, at as u64);
            let msg = JournalError::Corrupt { path, offset }.to_string();
            assert!(
                msg.contains(&name) && msg.contains(&format!("offset {at}")),
                "{msg}"
            );
        }
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("a damaged journal opened"),
    }
}

#[tokio::test]
async fn damage_in_an_earlier_segment_is_never_a_torn_tail() {
    let tmp = tempfile::tempdir().unwrap();
    let (j, _) = Journal::open(tmp.path()).unwrap();
    j.append(&write(1, 0, b"one")).unwrap();
    drop(j);
    // A second start leaves the first segment behind and writes a new one.
    let (j, _) = Journal::open(tmp.path()).unwrap();
    j.append(&write(1, 3, b"two")).unwrap();
    drop(j);
    let first = tmp.path().join(&segments(tmp.path())[0]);
    let len = std::fs::metadata(&first).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&first)
        .unwrap()
        .set_len(len - 1)
        .unwrap();
    assert!(matches!(
        Journal::open(tmp.path()),
        Err(JournalError::Corrupt { .. })
    ));
}

#[tokio::test]
async fn flushed_segments_are_deleted_and_unflushed_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let (j, _) = Journal::open(tmp.path()).unwrap();
    let big = vec![1u8; 1 << 20];
    let mut last = 0;
    // Enough for three segments.
    for i in 0..(2 * SEGMENT_SIZE / (1 << 20) + 4) {
        let inode = if i == 0 { 7 } else { 8 };
        last = j.append(&write(inode, i << 20, &big)).unwrap();
    }
    j.sync().await.unwrap();
    assert!(segments(tmp.path()).len() >= 3);
    let before = segments(tmp.path()).len();
    j.release(8, last);
    assert_eq!(
        segments(tmp.path()).len(),
        before,
        "inode 7 pins the first segment, and segments go only from the front"
    );
    j.release(7, Lsn::MAX);
    assert_eq!(
        segments(tmp.path()).len(),
        1,
        "only the active segment is left"
    );
    assert_eq!(j.segments(), 1);
}

#[tokio::test]
async fn concurrent_syncs_all_return_covered() {
    let tmp = tempfile::tempdir().unwrap();
    let (j, _) = Journal::open(tmp.path()).unwrap();
    let j = Arc::new(j);
    let mut tasks = Vec::new();
    for i in 0..16u64 {
        let j = j.clone();
        tasks.push(tokio::spawn(async move {
            j.append(&write(i, 0, b"data")).unwrap();
            j.sync().await.unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let d = j.disk.as_ref().unwrap();
    assert!(d.synced.load(Ordering::Acquire) >= j.end());
}

#[tokio::test]
async fn stats_follow_appends_syncs_and_releases() {
    let tmp = tempfile::tempdir().unwrap();
    let (j, _) = Journal::open(tmp.path()).unwrap();
    assert_eq!(j.stats().appended_bytes, 0);
    let lsn = j.append(&write(1, 0, &[3u8; 4096])).unwrap();
    let s = j.stats();
    assert_eq!(s.segments, 1);
    assert!(s.appended_bytes > 4096, "{s:?}");
    assert_eq!(s.bytes, s.appended_bytes, "one segment holds every record");
    assert_eq!(s.unsynced_bytes, s.appended_bytes);
    j.sync().await.unwrap();
    assert_eq!(j.stats().unsynced_bytes, 0);
    j.release(1, lsn);
    assert_eq!(
        j.stats().appended_bytes,
        s.appended_bytes,
        "a total since start"
    );
    assert_eq!(Journal::disabled().stats(), JournalStats::default());
}
