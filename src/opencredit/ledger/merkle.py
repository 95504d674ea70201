"""The ledger's Merkle tree and signed tree heads (docs/principles.md, principle 7).

Hashing follows RFC 6962 section 2.1 (kept in RFC 9162 section 2.1): a leaf hashes as
SHA-256(0x00 || entry), an interior node as SHA-256(0x01 || left || right), and the tree over
n leaves splits at the largest power of two below n. The distinct prefixes stop a leaf from
being passed off as a node. An inclusion proof shows that one entry is in the tree; a
consistency proof shows that a later tree only appended to an earlier one, so nothing was
silently changed or removed.

A tree head (size, root, timestamp) is signed with Ed25519. Anyone holding the public key and
a proof can check the ledger without trusting whoever runs it.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import operator
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from opencredit.errors import LedgerError

HASH_SIZE = 32
#: The root of the empty tree: the hash of the empty string.
EMPTY_ROOT = hashlib.sha256(b"").digest()
PRIVATE_KEY_FILE = "tree-head-signing-key.pem"
PUBLIC_KEY_FILE = "tree-head-signing-key.pub.pem"
_TREE_HEAD_HEADER = "opencredit tree head v1"


def leaf_hash(data: bytes) -> bytes:
    """The hash of one leaf: SHA-256(0x00 || data)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The hash of an interior node: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """The Merkle tree hash (RFC 6962 MTH) over ``leaf_hashes``, which are already leaf hashes.

    Pairing each level left to right and carrying an odd last node up unchanged builds the
    same tree as splitting at the largest power of two, without a Python call per node.
    """
    return _tree_hash(_checked(leaf_hashes))


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int) -> list[bytes]:
    """The audit path for leaf ``index`` in the tree over ``leaf_hashes`` (RFC 9162 2.1.3.1)."""
    hashes = _checked(leaf_hashes)
    if not 0 <= index < len(hashes):
        raise LedgerError(
            f"no inclusion proof for leaf {index}: the tree has {len(hashes)} leaves "
            f"(indexes 0 to {len(hashes) - 1})"
        )
    # PATH(m, D[lo:hi]) = PATH(m, <the half holding m>) : MTH(<the other half>); walk down from
    # the top collecting the other halves, then reverse to list them from the leaf upwards.
    proof: list[bytes] = []
    lo, hi = 0, len(hashes)
    while hi - lo > 1:
        mid = lo + _split(hi - lo)
        if index < mid:
            proof.append(_tree_hash(hashes[mid:hi]))
            hi = mid
        else:
            proof.append(_tree_hash(hashes[lo:mid]))
            lo = mid
    proof.reverse()
    return proof


def consistency_proof(leaf_hashes: Sequence[bytes], size1: int, size2: int) -> list[bytes]:
    """The proof that the tree of ``size2`` leaves extends the one of ``size1`` (RFC 9162 2.1.4.1).

    ``leaf_hashes`` may run past ``size2``; only its first ``size2`` leaves are used. Equal
    sizes give an empty proof; a proof from the empty tree would prove nothing and is refused.
    """
    hashes = _checked(leaf_hashes)
    if not 0 < size1 <= size2 <= len(hashes):
        raise LedgerError(
            f"no consistency proof from size {size1} to size {size2}: expected "
            f"0 < size1 <= size2 <= {len(hashes)} (the number of leaves)"
        )
    # SUBPROOF(m, D[lo:hi], b), unrolled: each step descends into one half and records the
    # other half's root; the last step adds the root of the subtree equal to the old tree,
    # unless that subtree is the old tree itself (b still true).
    proof: list[bytes] = []
    lo, hi, whole_old_tree = 0, size2, True
    while hi != size1:
        mid = lo + _split(hi - lo)
        if size1 <= mid:
            proof.append(_tree_hash(hashes[mid:hi]))
            hi = mid
        else:
            proof.append(_tree_hash(hashes[lo:mid]))
            lo, whole_old_tree = mid, False
    if not whole_old_tree:
        proof.append(_tree_hash(hashes[lo:hi]))
    proof.reverse()
    return proof


def verify_inclusion(
    leaf_index: int, tree_size: int, leaf_hash: bytes, proof: Sequence[bytes], root: bytes
) -> bool:
    """True if ``proof`` shows ``leaf_hash`` at ``leaf_index`` in the tree with ``root``.

    The algorithm of RFC 9162 section 2.1.3.2. Malformed input of any kind gives False.
    """
    index, size, path = _as_int(leaf_index), _as_int(tree_size), _as_hash_list(proof)
    if index is None or size is None or path is None or not 0 <= index < size:
        return False
    if not (_is_hash(leaf_hash) and _is_hash(root)):
        return False
    fn, sn, r = index, size - 1, bytes(leaf_hash)
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def verify_consistency(
    size1: int, size2: int, root1: bytes, root2: bytes, proof: Sequence[bytes]
) -> bool:
    """True if ``proof`` shows the tree (``size2``, ``root2``) extends (``size1``, ``root1``).

    The algorithm of RFC 9162 section 2.1.4.2, which covers 0 < size1 < size2. Equal sizes
    need an empty proof and equal roots. A proof from the empty tree (size1 = 0) proves nothing
    and is rejected. Malformed input of any kind gives False.
    """
    first, second, path = _as_int(size1), _as_int(size2), _as_hash_list(proof)
    if first is None or second is None or path is None or not 0 < first <= second:
        return False
    if not isinstance(root1, bytes | bytearray) or not isinstance(root2, bytes | bytearray):
        return False
    if first == second:
        return not path and root1 == root2
    if not (path and _is_hash(root1) and _is_hash(root2)):
        return False
    if first & (first - 1) == 0:
        path.insert(0, bytes(root1))
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == root1 and sr == root2


@dataclass(frozen=True, slots=True)
class TreeHead:
    """The ledger at one moment: how many entries, their Merkle root, and when (ISO 8601)."""

    size: int
    root: bytes
    timestamp: str

    def __post_init__(self) -> None:
        if isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 0:
            raise LedgerError(f"tree head size must be a whole number >= 0, not {self.size!r}")
        if not isinstance(self.root, bytes) or len(self.root) != HASH_SIZE:
            raise LedgerError(f"tree head root must be {HASH_SIZE} bytes, not {self.root!r}")
        stamp = self.timestamp
        if not (isinstance(stamp, str) and stamp and stamp.isascii() and stamp.isprintable()):
            raise LedgerError(
                f"tree head timestamp must be one line of printable ASCII, not {stamp!r}"
            )

    @classmethod
    def now(cls, size: int, root: bytes) -> TreeHead:
        """A tree head stamped with the current UTC time to the second."""
        return cls(size, root, dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))

    def canonical_bytes(self) -> bytes:
        """The exact bytes that are signed: a header line, then size, root and timestamp lines."""
        root_b64 = base64.b64encode(self.root).decode()
        return f"{_TREE_HEAD_HEADER}\n{self.size}\n{root_b64}\n{self.timestamp}\n".encode()


def sign_tree_head(head: TreeHead, private_key: Ed25519PrivateKey) -> bytes:
    """The Ed25519 signature (64 bytes) of ``head``'s canonical bytes."""
    return private_key.sign(head.canonical_bytes())


def verify_tree_head(head: TreeHead, signature: bytes, public_key: Ed25519PublicKey) -> bool:
    """True if ``signature`` is ``public_key``'s signature of ``head``; False for anything else."""
    try:
        public_key.verify(signature, head.canonical_bytes())
    except (InvalidSignature, TypeError, ValueError, AttributeError):
        return False
    return True


def load_or_create_signing_key(directory: Path) -> Ed25519PrivateKey:
    """The tree-head signing key kept in ``directory``, created with its public key if absent."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    try:
        _write_new(directory / PRIVATE_KEY_FILE, _private_pem(key), mode=0o600)
    except FileExistsError:  # an existing key is kept: replacing it would orphan old heads
        key = load_signing_key(directory)
    public_path, public = directory / PUBLIC_KEY_FILE, key.public_key()
    if not public_path.exists():
        public_path.write_bytes(public_key_pem(public))
    elif load_public_key(directory).public_bytes_raw() != public.public_bytes_raw():
        raise LedgerError(
            f"{public_path} does not match the private key in {directory / PRIVATE_KEY_FILE}; "
            "restore the matching public key or remove it to have it written again"
        )
    return key


def load_signing_key(directory: Path) -> Ed25519PrivateKey:
    """The Ed25519 private key in ``directory``/tree-head-signing-key.pem."""
    path = Path(directory) / PRIVATE_KEY_FILE
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise LedgerError(f"cannot load the tree-head signing key from {path}: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise LedgerError(f"{path} holds a {type(key).__name__}; expected an Ed25519 key")
    return key


def load_public_key(directory: Path) -> Ed25519PublicKey:
    """The Ed25519 public key in ``directory``/tree-head-signing-key.pub.pem."""
    path = Path(directory) / PUBLIC_KEY_FILE
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except (OSError, ValueError, TypeError) as exc:
        raise LedgerError(f"cannot load the tree-head public key from {path}: {exc}") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise LedgerError(f"{path} holds a {type(key).__name__}; expected an Ed25519 key")
    return key


def public_key_pem(public_key: Ed25519PublicKey) -> bytes:
    """``public_key`` as PEM (SubjectPublicKeyInfo), the form to publish."""
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _private_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write_new(path: Path, data: bytes, mode: int) -> None:
    # O_EXCL: of two processes creating the key at once, one wins and the other loads its key.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as file:
        file.write(data)


def _tree_hash(level: list[bytes]) -> bytes:
    if not level:
        return EMPTY_ROOT
    while len(level) > 1:
        level = _parent_level(level)
    return level[0]


def _parent_level(level: list[bytes]) -> list[bytes]:
    sha256 = hashlib.sha256
    parents = [
        sha256(b"\x01" + left + right).digest()
        for left, right in zip(level[::2], level[1::2], strict=False)
    ]
    if len(level) % 2:
        parents.append(level[-1])
    return parents


def _split(n: int) -> int:
    """The largest power of two below ``n`` (n >= 2): where RFC 6962 splits a tree of n leaves."""
    return 1 << ((n - 1).bit_length() - 1)


def _checked(leaf_hashes: Sequence[bytes]) -> list[bytes]:
    hashes = list(leaf_hashes)
    # Checked in bulk first; the per-leaf loop only runs to name the bad leaf.
    if set(map(type, hashes)) <= {bytes, bytearray} and set(map(len, hashes)) <= {HASH_SIZE}:
        return hashes
    for i, h in enumerate(hashes):
        if not _is_hash(h):
            raise LedgerError(
                f"leaf {i} is {h!r}; expected a {HASH_SIZE}-byte leaf hash (see leaf_hash)"
            )
    return hashes


def _is_hash(value: object) -> bool:
    return isinstance(value, bytes | bytearray) and len(value) == HASH_SIZE


def _as_int(value: object) -> int | None:
    try:
        return operator.index(value)  # type: ignore[call-overload]
    except TypeError:
        return None


def _as_hash_list(proof: object) -> list[bytes] | None:
    if isinstance(proof, str | bytes | bytearray):
        return None
    try:
        items = list(proof)  # type: ignore[call-overload]
    except TypeError:
        return None
    return [bytes(p) for p in items] if all(_is_hash(p) for p in items) else None
