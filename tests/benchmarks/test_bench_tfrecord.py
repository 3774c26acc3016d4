"""TFRecord framing and CRC-32C against published reference values."""

from __future__ import annotations

import struct

import numpy as np

from selfnas.benchmarks.tfrecord import crc32c, crc32c_many, encode_record, mask, record_spans


def test_crc32c_reference_vectors():
    # RFC 3720 (iSCSI) B.4 test vectors and the classic check value
    assert crc32c(b"123456789") == 0xE3069283
    assert crc32c(bytes(32)) == 0x8A9136AA
    assert crc32c(bytes([0xFF] * 32)) == 0x62A8AB43
    assert crc32c(bytes(range(32))) == 0x46DD794E


def test_vectorised_crc_equals_scalar():
    rng = np.random.default_rng(0)
    buffers = [
        rng.integers(0, 256, int(n), dtype=np.uint8).tobytes() for n in rng.integers(0, 300, 200)
    ]
    data = b"".join(buffers)
    starts = np.cumsum([0] + [len(b) for b in buffers[:-1]])
    lengths = np.array([len(b) for b in buffers])
    got = crc32c_many(np.frombuffer(data, np.uint8), starts, lengths, chunk=37)
    assert got.tolist() == [crc32c(b) for b in buffers]


def test_record_framing_is_the_tensorflow_layout():
    record = encode_record(b"hello")
    length, length_crc = struct.unpack_from("<QI", record)
    assert length == 5 and length_crc == mask(crc32c(struct.pack("<Q", 5)))
    assert record[12:17] == b"hello"
    assert struct.unpack_from("<I", record, 17)[0] == mask(crc32c(b"hello"))
    starts, lengths = record_spans(record + encode_record(b""))
    assert starts.tolist() == [12, 33] and lengths.tolist() == [5, 0]
