"""Known-answer tests for RFC 6962 Merkle hashing and proofs.

The vectors are the 8-leaf test data of the Certificate Transparency reference code, as kept in
transparency-dev/merkle: testonly/constants.go (LeafInputs, NodeHashes, RootHashes) and
proof/verify_test.go (inclusionProofs, consistencyProofs; leaf numbers there are 1-based).
"""

import hashlib

import pytest

from strongroom.audit import chain

LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
INCLUSION = [  # (leaf index, tree size, proof)
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]  # fmt: skip
CONSISTENCY = [  # (first, second, proof)
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    (6, 7, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
]  # fmt: skip

LEAF_HASHES = [chain.leaf_hash(x) for x in LEAVES]
TREE = chain.MerkleTree(LEAF_HASHES)


def test_basic_hashes_follow_rfc_6962() -> None:
    assert hashlib.sha256(b"").digest() == chain.EMPTY_ROOT
    assert chain.leaf_hash(b"L") == hashlib.sha256(b"\x00L").digest()
    assert chain.node_hash(b"l" * 32, b"r" * 32) == hashlib.sha256(b"\x01" + b"l" * 32 + b"r" * 32).digest()
    assert chain.leaf_hash(b"") != chain.EMPTY_ROOT  # domain separation: a leaf is never the empty tree


@pytest.mark.parametrize("size", range(9))
def test_roots_of_every_prefix_match_the_reference(size: int) -> None:
    compact = chain.CompactRange()
    for leaf in LEAF_HASHES[:size]:
        compact.append(leaf)
    assert compact.root().hex() == ROOTS[size]
    assert chain.MerkleTree(LEAF_HASHES[:size]).root().hex() == ROOTS[size]
    assert TREE.root(size).hex() == ROOTS[size]


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION)
def test_inclusion_proofs_match_the_reference_and_verify(index: int, size: int, proof: list[str]) -> None:
    got = TREE.inclusion_proof(index, size)
    assert [p.hex() for p in got] == proof
    root = bytes.fromhex(ROOTS[size])
    assert chain.verify_inclusion(index, size, LEAF_HASHES[index], got, root)
    assert not chain.verify_inclusion(index ^ 1, size, LEAF_HASHES[index], got, root)
    assert not chain.verify_inclusion(index, size, chain.leaf_hash(b"WrongLeaf"), got, root)
    assert not chain.verify_inclusion(index, size * 2, LEAF_HASHES[index], got, root)
    assert not chain.verify_inclusion(index, size, LEAF_HASHES[index], got[:-1], root)
    assert not chain.verify_inclusion(index, size, LEAF_HASHES[index], [*got, root], root)


@pytest.mark.parametrize(("first", "second", "proof"), CONSISTENCY)
def test_consistency_proofs_match_the_reference_and_verify(first: int, second: int, proof: list[str]) -> None:
    got = TREE.consistency_proof(first, second)
    assert [p.hex() for p in got] == proof
    r1, r2 = bytes.fromhex(ROOTS[first]), bytes.fromhex(ROOTS[second])
    assert chain.verify_consistency(first, second, r1, r2, got)
    assert not chain.verify_consistency(first, second, r2, r1, got)
    assert not chain.verify_consistency(first, second, r1, r2, got[:-1])
    assert not chain.verify_consistency(first, second, r1, r2, [])
    flipped = [bytes([got[0][0] ^ 16]) + got[0][1:], *got[1:]]
    assert not chain.verify_consistency(first, second, r1, r2, flipped)


def test_every_proof_of_larger_trees_verifies() -> None:
    leaves = [chain.leaf_hash(i.to_bytes(4, "big")) for i in range(37)]
    tree = chain.MerkleTree(leaves)
    for size in range(1, 38):
        root = tree.root(size)
        for index in range(size):
            assert chain.verify_inclusion(index, size, leaves[index], tree.inclusion_proof(index, size), root)
        for first in range(1, size + 1):
            proof = tree.consistency_proof(first, size)
            assert chain.verify_consistency(first, size, tree.root(first), root, proof)
