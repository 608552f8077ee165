//! awscli on whole trees: cp, ls and rm of 1,000 objects, and sync up and
//! down, every object checked byte for byte against the local files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::harness::Server;
use crate::s3_support::{Aws, Rng};

/// Relative path (`/`-separated) -> content.
type Tree = BTreeMap<String, Vec<u8>>;

/// `n` files in nested directories: a tenth empty, most a few KiB, some a
/// few hundred KiB, and names that need encoding in a URL.
fn make_tree(n: usize, seed: u64) -> Tree {
    let mut rng = Rng(seed);
    let odd_names = [
        "space name.txt",
        "plus+sign.bin",
        "ünïcode-é.txt",
        "a=b&c;d.txt",
    ];
    let mut tree = Tree::new();
    for i in 0..n {
        let name = match odd_names.get(i) {
            Some(odd) => odd.to_string(),
            None => {
                let mut dir = format!("d{}/", i % 7);
                if i % 3 != 0 {
                    dir += &format!("e{}/", i % 5);
                }
                if i % 11 == 0 {
                    dir += "f/g/h/";
                }
                format!("{dir}obj-{i:04}.bin")
            }
        };
        let size = if i % 10 == 0 {
            0
        } else if i % 50 == 7 {
            200_000 + rng.below(400_000) as usize
        } else {
            1 + rng.below(20_000) as usize
        };
        tree.insert(name, rng.bytes(size));
    }
    tree
}

/// Writes the files of `tree` under `root`, dated an hour ago: awscli's
/// sync re-uploads a file newer than its object, and LastModified has whole
/// seconds, so a file written in the second of its upload would look newer.
fn write_tree(root: &Path, tree: &Tree) {
    let past = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    for (name, data) in tree {
        let p = root.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).expect("mkdir");
        std::fs::write(&p, data).expect("write file");
        std::fs::File::options()
            .write(true)
            .open(&p)
            .and_then(|f| f.set_modified(past))
            .expect("set mtime");
    }
}

fn read_tree(root: &Path) -> Tree {
    fn walk(root: &Path, dir: &Path, out: &mut Tree) {
        for e in std::fs::read_dir(dir).expect("read_dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read(&p).expect("read file"));
            }
        }
    }
    let mut out = Tree::new();
    walk(root, root, &mut out);
    out
}

#[track_caller]
pub fn assert_same_bytes(got: &[u8], want: &[u8], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length differs");
    if let Some(i) = got.iter().zip(want).position(|(a, b)| a != b) {
        panic!("{what}: first differing byte at offset {i}");
    }
}

#[track_caller]
fn assert_same_tree(got: &Tree, want: &Tree, what: &str) {
    let got_names: BTreeSet<_> = got.keys().collect();
    let want_names: BTreeSet<_> = want.keys().collect();
    let missing: Vec<_> = want_names.difference(&got_names).take(10).collect();
    let extra: Vec<_> = got_names.difference(&want_names).take(10).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{what}: missing {missing:?}, extra {extra:?} ({} vs {} files)",
        got.len(),
        want.len()
    );
    for (name, data) in want {
        assert_same_bytes(&got[name], data, &format!("{what}: {name}"));
    }
}

fn sizes(tree: &Tree) -> BTreeMap<String, u64> {
    tree.iter()
        .map(|(k, v)| (k.clone(), v.len() as u64))
        .collect()
}

/// `aws s3 ls` output: `PRE name/` lines and `date time size name` lines.
#[derive(Debug, Default, PartialEq)]
struct Listing {
    prefixes: BTreeSet<String>,
    objects: BTreeMap<String, u64>,
}

fn parse_ls(out: &str) -> Listing {
    let mut l = Listing::default();
    for line in out.lines() {
        if let Some(p) = line.trim_start().strip_prefix("PRE ") {
            l.prefixes.insert(p.to_string());
            continue;
        }
        // "2024-05-01 12:00:00       1234 name with spaces"
        let rest = line
            .get(19..)
            .unwrap_or_else(|| panic!("unexpected ls line {line:?}"))
            .trim_start();
        let (size, name) = rest
            .split_once(' ')
            .unwrap_or_else(|| panic!("unexpected ls line {line:?}"));
        let size = size
            .parse()
            .unwrap_or_else(|_| panic!("unexpected ls line {line:?}"));
        assert!(
            l.objects.insert(name.to_string(), size).is_none(),
            "{name} listed twice"
        );
    }
    l
}

/// What `aws s3 ls s3://bucket/<prefix>` must show for objects `keys`
/// (full keys): common prefixes and objects named from the last `/` of the
/// prefix on.
fn expected_ls(keys: &BTreeMap<String, u64>, prefix: &str) -> Listing {
    let base = prefix.rfind('/').map_or(0, |i| i + 1);
    let mut l = Listing::default();
    for (key, size) in keys.range(prefix.to_string()..) {
        if !key.starts_with(prefix) {
            break;
        }
        match key[prefix.len()..].find('/') {
            Some(i) => {
                l.prefixes
                    .insert(key[base..prefix.len() + i + 1].to_string());
            }
            None => {
                l.objects.insert(key[base..].to_string(), *size);
            }
        }
    }
    l
}

/// `aws s3 ls --recursive s3://export/<prefix>`: key (without `prefix`) ->
/// size.
pub fn ls_recursive(aws: &Aws, bucket: &str, prefix: &str) -> BTreeMap<String, u64> {
    let out = aws.ok(&[
        "s3",
        "ls",
        "--recursive",
        &format!("s3://{bucket}/{prefix}"),
    ]);
    let l = parse_ls(&out);
    assert!(l.prefixes.is_empty(), "recursive ls shows prefixes: {out}");
    l.objects
        .into_iter()
        .map(|(k, s)| {
            let k = k
                .strip_prefix(prefix)
                .unwrap_or_else(|| panic!("{k} is outside {prefix}"))
                .to_string();
            (k, s)
        })
        .collect()
}

/// The keys of `upload:`/`download:`/`delete:` lines (awscli's report of
/// what it transferred), with `prefix` (an `s3://` URL) removed.
fn transferred(out: &str, verb: &str, prefix: &str) -> BTreeSet<String> {
    out.lines()
        .filter_map(|l| l.strip_prefix(&format!("{verb}: ")))
        .map(|l| {
            let url = match l.rsplit_once(" to ") {
                Some((_, to)) if to.starts_with("s3://") => to,
                _ => l.split(" to ").next().unwrap(),
            };
            url.strip_prefix(prefix)
                .unwrap_or_else(|| panic!("{url} is outside {prefix}"))
                .to_string()
        })
        .collect()
}

pub fn path_arg(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn awscli_cp_ls_rm_a_tree_of_1000_objects() {
    let server = Server::start_s3();
    let aws = Aws::new(&server);
    let tmp = tempfile::tempdir().expect("tempdir");
    let src = tmp.path().join("src");
    let mut tree = make_tree(1000, 0x5eed_0001);
    write_tree(&src, &tree);

    let out = aws.ok(&[
        "s3",
        "cp",
        "--recursive",
        "--no-progress",
        path_arg(&src),
        "s3://export/tree/",
    ]);
    let uploaded = transferred(&out, "upload", "s3://export/tree/");
    assert_eq!(uploaded.len(), tree.len(), "cp --recursive uploads:\n{out}");
    assert_eq!(ls_recursive(&aws, "export", "tree/"), sizes(&tree));

    let down = tmp.path().join("down");
    aws.ok(&[
        "s3",
        "cp",
        "--recursive",
        "--no-progress",
        "s3://export/tree/",
        path_arg(&down),
    ]);
    assert_same_tree(&read_tree(&down), &tree, "cp --recursive back");

    let keys: BTreeMap<String, u64> = sizes(&tree)
        .into_iter()
        .map(|(k, s)| (format!("tree/{k}"), s))
        .collect();
    for prefix in [
        "tree/",
        "tree/d1/",
        "tree/d1/e",
        "tree/d2/obj-00",
        "tree/d0/f/g/",
        "tree/sp",
    ] {
        let got = parse_ls(&aws.ok(&["s3", "ls", &format!("s3://export/{prefix}")]));
        let want = expected_ls(&keys, prefix);
        assert!(
            !want.objects.is_empty() || !want.prefixes.is_empty(),
            "a prefix that lists nothing tests nothing: {prefix}"
        );
        assert_eq!(got, want, "aws s3 ls s3://export/{prefix}");
    }
    let root = parse_ls(&aws.ok(&["s3", "ls", "s3://export/"]));
    assert_eq!(root.prefixes, BTreeSet::from(["tree/".to_string()]));

    aws.ok(&["s3", "rm", "s3://export/tree/space name.txt"]);
    tree.remove("space name.txt");
    let out = aws.ok(&["s3", "rm", "--recursive", "s3://export/tree/d3/"]);
    let removed = transferred(&out, "delete", "s3://export/tree/");
    let want_removed: BTreeSet<String> = tree
        .keys()
        .filter(|k| k.starts_with("d3/"))
        .cloned()
        .collect();
    assert_eq!(removed, want_removed, "rm --recursive deletes:\n{out}");
    tree.retain(|k, _| !k.starts_with("d3/"));
    assert_eq!(ls_recursive(&aws, "export", "tree/"), sizes(&tree));
    // A directory emptied by deletes is no common prefix: S3 has no
    // directories, only keys.
    let top = parse_ls(&aws.ok(&["s3", "ls", "s3://export/tree/"]));
    let want_top = expected_ls(
        &sizes(&tree)
            .into_iter()
            .map(|(k, s)| (format!("tree/{k}"), s))
            .collect(),
        "tree/",
    );
    assert_eq!(top, want_top, "aws s3 ls s3://export/tree/ after rm");
}

#[test]
fn awscli_sync_transfers_a_tree_once_then_only_changes() {
    let server = Server::start_s3();
    let aws = Aws::new(&server);
    let tmp = tempfile::tempdir().expect("tempdir");
    let src = tmp.path().join("src");
    let mut tree = make_tree(1000, 0x5eed_0002);
    write_tree(&src, &tree);
    let dest = "s3://export/synced/";

    let out = aws.ok(&["s3", "sync", "--no-progress", path_arg(&src), dest]);
    let up = transferred(&out, "upload", dest);
    assert_eq!(
        up.len(),
        tree.len(),
        "first sync uploads everything:\n{out}"
    );
    assert_eq!(ls_recursive(&aws, "export", "synced/"), sizes(&tree));

    let out = aws.ok(&["s3", "sync", "--no-progress", path_arg(&src), dest]);
    assert!(
        out.trim().is_empty(),
        "a second sync transfers nothing:\n{out}"
    );

    // Changes of size are seen whatever the clocks say.
    let mut rng = Rng(0x5eed_0003);
    let names: Vec<String> = tree.keys().cloned().collect();
    let changed: BTreeSet<String> = names.iter().step_by(97).cloned().collect();
    let deleted: BTreeSet<String> = names.iter().skip(50).step_by(151).cloned().collect();
    assert!(changed.is_disjoint(&deleted));
    for name in &changed {
        let len = tree[name].len() + 1 + rng.below(5000) as usize;
        tree.insert(name.clone(), rng.bytes(len));
    }
    for name in &deleted {
        tree.remove(name);
        std::fs::remove_file(src.join(name)).expect("remove");
    }
    let added: BTreeSet<String> = ["new/one.bin", "new/deeper/two.bin", "d1/e1/three.bin"]
        .into_iter()
        .map(String::from)
        .collect();
    for name in &added {
        let len = 1 + rng.below(100_000) as usize;
        tree.insert(name.clone(), rng.bytes(len));
    }
    write_tree(&src, &tree);

    let out = aws.ok(&[
        "s3",
        "sync",
        "--delete",
        "--no-progress",
        path_arg(&src),
        dest,
    ]);
    let want_up: BTreeSet<String> = changed.union(&added).cloned().collect();
    assert_eq!(
        transferred(&out, "upload", dest),
        want_up,
        "sync uploads:\n{out}"
    );
    assert_eq!(
        transferred(&out, "delete", dest),
        deleted,
        "sync deletes:\n{out}"
    );
    assert_eq!(ls_recursive(&aws, "export", "synced/"), sizes(&tree));

    let down = tmp.path().join("down");
    let out = aws.ok(&["s3", "sync", "--no-progress", dest, path_arg(&down)]);
    assert_eq!(
        out.lines().filter(|l| l.starts_with("download: ")).count(),
        tree.len(),
        "sync down:\n{out}"
    );
    assert_same_tree(&read_tree(&down), &tree, "sync down");

    let out = aws.ok(&["s3", "sync", "--no-progress", dest, path_arg(&down)]);
    assert!(
        out.trim().is_empty(),
        "a second sync down transfers nothing:\n{out}"
    );
    let out = aws.ok(&[
        "s3",
        "sync",
        "--delete",
        "--no-progress",
        path_arg(&src),
        dest,
    ]);
    assert!(out.trim().is_empty(), "nothing left to sync up:\n{out}");
}
