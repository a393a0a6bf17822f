//! Unit tests of `robust::shard`, in their own file to keep the module within the house size.

use super::*;

#[test]
fn shards_partition_the_indices() {
    let shards: Vec<Shard> = (1..=3)
        .map(|k| Shard::parse(&format!("{k}/3")).unwrap())
        .collect();
    for i in 0..20 {
        assert_eq!(shards.iter().filter(|s| s.contains(i)).count(), 1, "{i}");
    }
    assert!(shards[0].contains(0) && shards[1].contains(1) && shards[2].contains(5));
    assert_eq!(shards[1].file_name(), "shard-2-of-3.json");
}

#[test]
fn bad_shard_specs_are_refused() {
    for bad in ["0/3", "4/3", "3", "a/b", "1/0", ""] {
        assert!(Shard::parse(bad).is_err(), "{bad}");
    }
}
