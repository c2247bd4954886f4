"""Real speech for tests: espeak-ng speaks Mandarin into a WAV; ffmpeg makes Opus; opencore-amrnb makes AMR.

Debian's ffmpeg decodes AMR but cannot encode it, so AMR-NB frames come from libopencore-amrnb (the codec
Android and WeCom use) through ctypes: 20 ms frames of 160 samples at 8 kHz, mode MR122, behind the
``#!AMR\\n`` magic — the file a WeCom voice message downloads as.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import subprocess
from pathlib import Path

MR122 = 7


def speak(text: str, wav: Path, *, repeat: int = 1) -> Path:
    """Mandarin speech of ``text`` (said ``repeat`` times) as a WAV file."""
    subprocess.run(["espeak-ng", "-v", "cmn", "-w", str(wav), "，".join([text] * repeat)], check=True)
    return wav


def to_opus(wav: Path, out: Path) -> Path:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(wav), "-ac", "1", "-ar", "16000",
                    "-c:a", "libopus", str(out)], check=True)
    return out


def to_amr(wav: Path, out: Path) -> Path:
    pcm = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(wav), "-ac", "1", "-ar", "8000",
                          "-f", "s16le", "-"], check=True, capture_output=True).stdout
    lib = ctypes.CDLL(ctypes.util.find_library("opencore-amrnb") or "libopencore-amrnb.so.0")
    lib.Encoder_Interface_init.restype = ctypes.c_void_p
    lib.Encoder_Interface_Encode.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(ctypes.c_short),
                                             ctypes.POINTER(ctypes.c_ubyte), ctypes.c_int]
    lib.Encoder_Interface_exit.argtypes = [ctypes.c_void_p]
    state = lib.Encoder_Interface_init(0)
    frames = bytearray(b"#!AMR\n")
    frame = 320  # bytes of 160 samples
    buf = (ctypes.c_ubyte * 64)()
    for i in range(0, len(pcm) - frame + 1, frame):
        samples = (ctypes.c_short * 160).from_buffer_copy(pcm[i:i + frame])
        n = lib.Encoder_Interface_Encode(state, MR122, samples, buf, 0)
        frames += bytes(buf[:n])
    lib.Encoder_Interface_exit(state)
    out.write_bytes(bytes(frames))
    return out
