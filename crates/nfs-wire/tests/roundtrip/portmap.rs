//! Portmapper v2: round trips and layouts.

use bytes::Bytes;
use dittofs_nfs_wire::portmap::*;
use proptest::collection::vec;
use proptest::prelude::*;

use crate::strategies::{bytes, payload};
use crate::{decode, encode, round_trips, words};

prop_compose! {
    fn mapping()(prog in any::<u32>(), vers in any::<u32>(), prot in any::<u32>(), port in any::<u32>())
        -> Mapping {
        Mapping { prog, vers, prot, port }
    }
}

prop_compose! {
    fn call_args()(prog in any::<u32>(), vers in any::<u32>(), procedure in any::<u32>(),
                   args in payload()) -> CallArgs {
        CallArgs { prog, vers, procedure, args }
    }
}

prop_compose! {
    fn call_result()(port in any::<u32>(), res in bytes(100)) -> CallResult {
        CallResult { port, res }
    }
}

round_trips! {
    mapping_round_trips: mapping();
    pmaplist_round_trips: vec(mapping(), 0..6).prop_map(PmapList);
    call_args_round_trip: call_args();
    call_result_round_trips: call_result();
}

#[test]
fn numbers_match_the_rfc() {
    assert_eq!((PROGRAM, VERSION, PMAP_PORT), (100000, 2, 111));
    assert_eq!((IPPROTO_TCP, IPPROTO_UDP), (6, 17));
    let procs: Vec<u32> = Procedure::ALL.iter().map(|p| p.as_u32()).collect();
    assert_eq!(procs, [0, 1, 2, 3, 4, 5]);
    assert_eq!(Procedure::from_u32(3), Some(Procedure::GetPort));
    assert_eq!(Procedure::from_u32(6), None);
}

#[test]
fn dump_layout() {
    let list = PmapList(vec![
        Mapping {
            prog: 100003,
            vers: 3,
            prot: IPPROTO_TCP,
            port: 2049,
        },
        Mapping {
            prog: 100005,
            vers: 3,
            prot: IPPROTO_UDP,
            port: 20048,
        },
    ]);
    let expected = words(&[1, 100003, 3, 6, 2049, 1, 100005, 3, 17, 20048, 0]);
    assert_eq!(&encode(&list)[..], expected);
    assert_eq!(decode::<PmapList>(&expected), Ok(list));
    assert_eq!(&encode(&PmapList::default())[..], words(&[0]));
}

#[test]
fn callit_layout() {
    let args = CallArgs {
        prog: 100003,
        vers: 3,
        procedure: 0,
        args: Bytes::from_static(b"hi"),
    };
    let expected = words(&[100003, 3, 0, 2, 0x6869_0000]);
    assert_eq!(&encode(&args)[..], expected);
    assert_eq!(decode::<CallArgs>(&expected), Ok(args));
}
