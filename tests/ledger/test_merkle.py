"""The ledger's Merkle tree against RFC 6962 / RFC 9162: published vectors, properties, STHs."""

from __future__ import annotations

import base64
import hashlib
import json
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from opencredit.errors import LedgerError
from opencredit.ledger import merkle
from opencredit.ledger.merkle import (
    EMPTY_ROOT,
    TreeHead,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    load_or_create_signing_key,
    load_public_key,
    node_hash,
    root,
    sign_tree_head,
    verify_consistency,
    verify_inclusion,
    verify_tree_head,
)

VECTORS = Path(__file__).parent.parent / "data" / "rfc6962"

#: The leaves behind the vectors (transparency-dev/merkle testonly/constants.go) and their roots.
RFC_LEAVES = [
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
RFC_ROOTS = [
    bytes.fromhex(h)
    for h in [
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
]
RFC_LEAF_HASHES = [leaf_hash(d) for d in RFC_LEAVES]


def _load(kind: str) -> list:
    files = sorted((VECTORS / kind).rglob("*.json"))
    assert files, f"no {kind} vectors under {VECTORS}"
    cases = []
    for path in files:
        case = json.loads(path.read_text())
        # JSON null is Go's nil slice: an empty proof.
        case["proof"] = [base64.b64decode(p) for p in case["proof"] or []]
        for key in ("root", "leafHash", "root1", "root2"):
            if key in case:
                case[key] = base64.b64decode(case[key])
        cases.append(pytest.param(case, id=str(path.relative_to(VECTORS / kind))))
    return cases


@pytest.mark.parametrize("case", _load("inclusion"))
def test_inclusion_vector(case: dict) -> None:
    ok = verify_inclusion(
        case["leafIdx"], case["treeSize"], case["leafHash"], case["proof"], case["root"]
    )
    assert ok is not case["wantErr"], case["desc"]


@pytest.mark.parametrize("case", _load("consistency"))
def test_consistency_vector(case: dict) -> None:
    ok = verify_consistency(
        case["size1"], case["size2"], case["root1"], case["root2"], case["proof"]
    )
    assert ok is not case["wantErr"], case["desc"]


def test_vectors_cover_both_outcomes() -> None:
    cases = [p.values[0] for p in _load("inclusion") + _load("consistency")]
    assert sum(not c["wantErr"] for c in cases) >= 10
    assert sum(c["wantErr"] for c in cases) >= 100


def test_roots_of_the_rfc_test_leaves() -> None:
    for size, expected in enumerate(RFC_ROOTS):
        assert root(RFC_LEAF_HASHES[:size]) == expected


@pytest.mark.parametrize(
    "case", [c for c in _load("inclusion") if c.id.endswith("happy-path.json")]
)
def test_inclusion_proof_reproduces_published_happy_path(case: dict) -> None:
    c = case
    leaves = RFC_LEAF_HASHES[: c["treeSize"]]
    assert root(leaves) == c["root"]
    assert leaves[c["leafIdx"]] == c["leafHash"]
    assert inclusion_proof(leaves, c["leafIdx"]) == c["proof"]


@pytest.mark.parametrize(
    "case", [c for c in _load("consistency") if c.id.endswith("happy-path.json")]
)
def test_consistency_proof_reproduces_published_happy_path(case: dict) -> None:
    c = case
    assert root(RFC_LEAF_HASHES[: c["size1"]]) == c["root1"]
    assert root(RFC_LEAF_HASHES[: c["size2"]]) == c["root2"]
    assert consistency_proof(RFC_LEAF_HASHES, c["size1"], c["size2"]) == c["proof"]


# The definitions of RFC 6962 section 2.1, written out recursively as the oracle.


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def naive_mth(d: list[bytes]) -> bytes:
    """MTH over leaf *hashes* (so MTH({d0}) is the leaf hash itself)."""
    if not d:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return d[0]
    k = _k(len(d))
    return hashlib.sha256(b"\x01" + naive_mth(d[:k]) + naive_mth(d[k:])).digest()


def naive_path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = _k(len(d))
    if m < k:
        return [*naive_path(m, d[:k]), naive_mth(d[k:])]
    return [*naive_path(m - k, d[k:]), naive_mth(d[:k])]


def naive_subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    if m == len(d):
        return [] if b else [naive_mth(d)]
    k = _k(len(d))
    if m <= k:
        return [*naive_subproof(m, d[:k], b), naive_mth(d[k:])]
    return [*naive_subproof(m - k, d[k:], False), naive_mth(d[:k])]


leaf_lists = st.lists(st.binary(max_size=6), min_size=1, max_size=70).map(
    lambda data: [leaf_hash(d) for d in data]
)


def _flip(h: bytes, bit: int) -> bytes:
    return h[: bit // 8] + bytes([h[bit // 8] ^ (1 << bit % 8)]) + h[bit // 8 + 1 :]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.binary(max_size=6), max_size=70))
def test_root_matches_the_recursive_definition(data: list[bytes]) -> None:
    hashes = [leaf_hash(d) for d in data]
    assert root(hashes) == naive_mth(hashes)


def test_root_of_a_larger_tree_matches_the_recursive_definition() -> None:
    hashes = [leaf_hash(i.to_bytes(4, "big")) for i in range(3001)]
    assert root(hashes) == naive_mth(hashes)


@settings(max_examples=60, deadline=None)
@given(leaf_lists, st.data())
def test_every_inclusion_proof_verifies_and_only_for_its_leaf(
    hashes: list[bytes], data: st.DataObject
) -> None:
    top, n = root(hashes), len(hashes)
    for i, h in enumerate(hashes):
        proof = inclusion_proof(hashes, i)
        assert proof == naive_path(i, hashes)
        assert verify_inclusion(i, n, h, proof, top)
        assert not verify_inclusion(i, n, leaf_hash(b"not in the tree"), proof, top)
    i = data.draw(st.integers(0, n - 1))
    proof = inclusion_proof(hashes, i)
    assert not verify_inclusion(i, n, hashes[i], [*proof, hashes[0]], top)
    assert not verify_inclusion(i, n, hashes[i], proof, _flip(top, data.draw(st.integers(0, 255))))
    if proof:
        j = data.draw(st.integers(0, len(proof) - 1))
        assert not verify_inclusion(i, n, hashes[i], proof[:j] + proof[j + 1 :], top)
        tampered = [*proof]
        tampered[j] = _flip(proof[j], data.draw(st.integers(0, 255)))
        assert not verify_inclusion(i, n, hashes[i], tampered, top)


@settings(max_examples=150, deadline=None)
@given(leaf_lists, st.data())
def test_every_consistency_proof_verifies(hashes: list[bytes], data: st.DataObject) -> None:
    size2 = data.draw(st.integers(1, len(hashes)), label="size2")
    size1 = data.draw(st.integers(1, size2), label="size1")
    root1, root2 = root(hashes[:size1]), root(hashes[:size2])
    proof = consistency_proof(hashes, size1, size2)
    assert proof == naive_subproof(size1, hashes[:size2], True)
    assert verify_consistency(size1, size2, root1, root2, proof)
    assert not verify_consistency(size1, size2, root1, leaf_hash(b"rewritten"), proof)
    assert not verify_consistency(size1, size2, leaf_hash(b"rewritten"), root2, proof)
    if proof:
        j = data.draw(st.integers(0, len(proof) - 1))
        tampered = [*proof]
        tampered[j] = _flip(proof[j], data.draw(st.integers(0, 255)))
        assert not verify_consistency(size1, size2, root1, root2, tampered)
        assert not verify_consistency(size1, size2, root1, root2, proof[:j] + proof[j + 1 :])
    assert not verify_consistency(size1, size2, root1, root2, [*proof, root1])


@settings(max_examples=100, deadline=None)
@given(leaf_lists, st.data())
def test_a_changed_leaf_breaks_consistency_with_the_old_tree(
    hashes: list[bytes], data: st.DataObject
) -> None:
    size2 = data.draw(st.integers(2, len(hashes) + 1))
    hashes = [*hashes, leaf_hash(b"extra")][:size2]
    size1 = data.draw(st.integers(1, size2 - 1))
    changed = [*hashes]
    i = data.draw(st.integers(0, size1 - 1))
    changed[i] = leaf_hash(b"changed" + changed[i])
    proof = consistency_proof(changed, size1, size2)
    assert not verify_consistency(size1, size2, root(hashes[:size1]), root(changed), proof)


def test_hashes_are_domain_separated() -> None:
    assert leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    left, right = leaf_hash(b"a"), leaf_hash(b"b")
    assert node_hash(left, right) == hashlib.sha256(b"\x01" + left + right).digest()
    assert leaf_hash(left + right) != node_hash(left, right)
    assert root([]) == EMPTY_ROOT == hashlib.sha256(b"").digest()


def test_proof_generation_refuses_impossible_requests() -> None:
    hashes = RFC_LEAF_HASHES
    for index in (-1, 8):
        with pytest.raises(LedgerError, match="8 leaves"):
            inclusion_proof(hashes, index)
    for size1, size2 in ((0, 3), (4, 3), (2, 9)):
        with pytest.raises(LedgerError, match="consistency proof"):
            consistency_proof(hashes, size1, size2)
    assert consistency_proof(hashes, 5, 5) == []
    with pytest.raises(LedgerError, match="leaf 1 is b'raw'"):
        root([hashes[0], b"raw"])


garbage = st.one_of(
    st.none(),
    st.integers(-(2**70), 2**70),
    st.floats(),
    st.text(max_size=40),
    st.binary(max_size=40),
    st.lists(st.one_of(st.binary(min_size=31, max_size=33), st.integers(), st.text()), max_size=4),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@settings(max_examples=200, deadline=None)
@given(garbage, garbage, garbage, garbage, garbage)
def test_verifiers_never_raise_on_garbage(
    a: object, b: object, c: object, d: object, e: object
) -> None:
    assert verify_inclusion(a, b, c, d, e) in (True, False)  # type: ignore[arg-type]
    assert verify_consistency(a, b, c, d, e) in (True, False)  # type: ignore[arg-type]
    assert verify_inclusion(0, 8, RFC_LEAF_HASHES[0], a, RFC_ROOTS[8]) is False  # type: ignore[arg-type]


def test_verifiers_take_any_sequence_of_hashes() -> None:
    proof = inclusion_proof(RFC_LEAF_HASHES, 3)
    assert verify_inclusion(3, 8, RFC_LEAF_HASHES[3], tuple(proof), RFC_ROOTS[8])
    assert verify_inclusion(3, 8, RFC_LEAF_HASHES[3], iter(proof), RFC_ROOTS[8])
    assert not verify_inclusion(3, 8, RFC_LEAF_HASHES[3], b"".join(proof), RFC_ROOTS[8])


# Signed tree heads.


@pytest.fixture(scope="module")
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


HEAD = TreeHead(8, RFC_ROOTS[8], "2024-05-01T12:00:00Z")


def test_tree_head_encoding_is_stable() -> None:
    assert HEAD.canonical_bytes() == (
        b"opencredit tree head v1\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n"
        b"2024-05-01T12:00:00Z\n"
    )


def test_signed_tree_head_round_trip(key: Ed25519PrivateKey) -> None:
    signature = sign_tree_head(HEAD, key)
    assert len(signature) == 64
    assert verify_tree_head(HEAD, signature, key.public_key())


@pytest.mark.parametrize(
    "tampered",
    [
        TreeHead(7, RFC_ROOTS[8], HEAD.timestamp),
        TreeHead(9, RFC_ROOTS[8], HEAD.timestamp),
        TreeHead(8, RFC_ROOTS[7], HEAD.timestamp),
        TreeHead(8, RFC_ROOTS[8], "2024-05-01T12:00:01Z"),
    ],
)
def test_tampered_tree_head_is_rejected(key: Ed25519PrivateKey, tampered: TreeHead) -> None:
    assert not verify_tree_head(tampered, sign_tree_head(HEAD, key), key.public_key())


def test_bad_signatures_are_rejected(key: Ed25519PrivateKey) -> None:
    signature = sign_tree_head(HEAD, key)
    other = Ed25519PrivateKey.generate().public_key()
    assert not verify_tree_head(HEAD, signature, other)
    assert not verify_tree_head(HEAD, _flip(signature, 3), key.public_key())
    for junk in (b"", b"\x00" * 64, signature[:63], "text", None):
        assert not verify_tree_head(HEAD, junk, key.public_key())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("size", "head_root", "timestamp", "message"),
    [
        (-1, RFC_ROOTS[1], "t", "size"),
        (True, RFC_ROOTS[1], "t", "size"),
        (1, RFC_ROOTS[1][:31], "t", "32 bytes"),
        (1, RFC_ROOTS[1].hex(), "t", "32 bytes"),
        (1, RFC_ROOTS[1], "", "timestamp"),
        (1, RFC_ROOTS[1], "2024\n8", "timestamp"),
    ],
)
def test_tree_head_refuses_malformed_fields(
    size: int, head_root: bytes, timestamp: str, message: str
) -> None:
    with pytest.raises(LedgerError, match=message):
        TreeHead(size, head_root, timestamp)


def test_tree_head_now_is_utc() -> None:
    assert TreeHead.now(0, EMPTY_ROOT).timestamp.endswith("Z")


def test_signing_key_is_created_once_and_reloaded(tmp_path: Path) -> None:
    directory = tmp_path / "keys"
    key = load_or_create_signing_key(directory)
    private = directory / merkle.PRIVATE_KEY_FILE
    assert private.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    again = load_or_create_signing_key(directory)
    assert again.private_bytes_raw() == key.private_bytes_raw()
    signature = sign_tree_head(HEAD, again)
    assert verify_tree_head(HEAD, signature, load_public_key(directory))


def test_mismatched_public_key_file_is_an_error(tmp_path: Path) -> None:
    load_or_create_signing_key(tmp_path)
    other = Ed25519PrivateKey.generate().public_key()
    (tmp_path / merkle.PUBLIC_KEY_FILE).write_bytes(merkle.public_key_pem(other))
    with pytest.raises(LedgerError, match="does not match"):
        load_or_create_signing_key(tmp_path)


def test_missing_public_key_file_is_rewritten(tmp_path: Path) -> None:
    key = load_or_create_signing_key(tmp_path)
    (tmp_path / merkle.PUBLIC_KEY_FILE).unlink()
    load_or_create_signing_key(tmp_path)
    assert load_public_key(tmp_path).public_bytes_raw() == key.public_key().public_bytes_raw()


def test_unreadable_key_file_names_the_file(tmp_path: Path) -> None:
    (tmp_path / merkle.PRIVATE_KEY_FILE).write_text("not a key")
    with pytest.raises(LedgerError, match=merkle.PRIVATE_KEY_FILE):
        load_or_create_signing_key(tmp_path)
