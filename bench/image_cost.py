"""What expensive inputs inside the limits cost, and how long a stopping API takes.

1. A 6300x6300 PNG of ~120 KB (mostly flat colour: it compresses), sent 4 at once to
   ``POST /v1/messages`` of a real ``fusiondesk serve`` with the default settings (inline
   executor): wall time of the burst and the API's RSS before, at its peak (sampled every 20 ms
   from /proc) and 3 s after.
2. A screenshot with 48 lines of text through the image plugin in this process (preprocess,
   then encode as a worker runs it): time of each and RSS.
3. SIGTERM to exit of an API (Celery executor, a real redis-server, no worker alive) holding 4
   messages: the target is FUSIONDESK_SHUTDOWN_GRACE_S (default 25 s) + 2 s. ``--stop-cap``
   bounds the wait (an API without a bounded stop waits for its 900 s result timeout).
"""

from __future__ import annotations

import argparse
import io
import os
import signal
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import httpx
from PIL import Image, ImageDraw, ImageFont

from bench._server import server_process
from fusiondesk.plugins import Part
from fusiondesk.plugins.image import ImagePlugin
from fusiondesk.workers.local import LocalRedis

T = TypeVar("T")

HUGE_SIDE = 6300
CONCURRENT = 4
SCREENSHOT_LINES = 48
STOP_MESSAGES = 4


def huge_png() -> bytes:
    image = Image.new("RGB", (HUGE_SIDE, HUGE_SIDE), (240, 240, 245))
    ImageDraw.Draw(image).rectangle((300, 300, 2400, 900), fill=(30, 60, 200))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def screenshot(lines: int = SCREENSHOT_LINES) -> bytes:
    """A 1280-wide page of ``lines`` lines of support-chat text, as a tall screenshot."""
    font = ImageFont.load_default(22)
    image = Image.new("RGB", (1280, 40 + 34 * lines), "white")
    draw = ImageDraw.Draw(image)
    for number in range(lines):
        text = f"{number + 1:02d}. my order {4100 + number} arrived late and the box was damaged"
        draw.text((30, 20 + 34 * number), text, fill=(20, 20, 20), font=font)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def rss_mb(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class PeakRss:
    """The highest RSS of a process while the block runs, sampled every 20 ms."""

    def __init__(self, pid: int | str) -> None:
        self.pid, self.peak, self._done = pid, 0.0, threading.Event()

    def __enter__(self) -> PeakRss:
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._done.is_set():
            self.peak = max(self.peak, rss_mb(self.pid))
            time.sleep(0.02)


def huge_images(data: bytes) -> None:
    print(f"1. {CONCURRENT} x {HUGE_SIDE}x{HUGE_SIDE} PNG ({len(data) // 1024} KB) at once, API")
    with server_process() as (base, process):

        def send(number: int) -> int:
            response = httpx.post(
                f"{base}/v1/messages",
                data={"conversation_id": f"huge{number}"},
                files={"image": ("huge.png", data, "image/png")},
                timeout=300,
            )
            return response.status_code

        send(-1)  # warm: the first image loads the models' lazy parts
        time.sleep(3)
        before = rss_mb(process.pid)
        with PeakRss(process.pid) as peak, ThreadPoolExecutor(CONCURRENT) as pool:
            started = time.perf_counter()
            statuses = list(pool.map(send, range(CONCURRENT)))
            took = time.perf_counter() - started
        time.sleep(3)
        after = rss_mb(process.pid)
    print(f"   {'statuses':<22} {statuses}")
    print(f"   {'burst wall time':<22} {took:8.2f} s")
    print(f"   {'API RSS before':<22} {before:8.0f} MB")
    print(f"   {'API RSS peak':<22} {peak.peak:8.0f} MB  (+{peak.peak - before:.0f})")
    print(f"   {'API RSS 3 s after':<22} {after:8.0f} MB  (+{after - before:.0f})")


def median_time(work: Callable[[], T], repeats: int) -> tuple[T, float]:
    """The last result and the median wall time of ``repeats`` calls (the machine is shared)."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - started)
    return result, statistics.median(times)


def long_screenshot(data: bytes, repeats: int = 3) -> None:
    print(f"2. a {SCREENSHOT_LINES}-line screenshot ({len(data) // 1024} KB), image plugin")
    plugin = ImagePlugin()
    plugin.load()
    before = rss_mb()
    with PeakRss("self") as peak:
        part = Part("image", data=data)
        payload, preprocess_s = median_time(lambda: plugin.preprocess(part), repeats)
        encodings, encode_s = median_time(lambda: plugin.encode([payload]), repeats)
    ocr = encodings[0].details["ocr"]
    print(f"   {'preprocess':<22} {preprocess_s:8.2f} s  (median of {repeats})")
    print(f"   {'encode (worker)':<22} {encode_s:8.2f} s  (median of {repeats})")
    print(f"   {'OCR regions / read':<22} {ocr['regions']:>8} / {len(ocr['lines'])}")
    print(f"   {'RSS before / peak':<22} {before:8.0f} / {peak.peak:.0f} MB")


def stop_time(cap_s: float) -> None:
    grace = float(os.environ.get("FUSIONDESK_SHUTDOWN_GRACE_S", "25"))
    print(f"3. SIGTERM to exit, {STOP_MESSAGES} messages in flight, no worker (grace {grace:g} s)")
    with tempfile.TemporaryDirectory(prefix="fusiondesk-bench-") as directory:
        redis = LocalRedis(Path(directory))
        redis.start()
        env = {"FUSIONDESK_EXECUTOR": "celery", "FUSIONDESK_CELERY__BROKER_URL": redis.url}
        try:
            with server_process(env, ready_statuses=(200, 503)) as (base, process):
                answers: list[str] = []

                def send(number: int) -> None:
                    try:
                        response = httpx.post(
                            f"{base}/v1/messages",
                            json={
                                "conversation_id": f"stop{number}",
                                "message_id": f"m{number}",
                                "parts": [{"type": "text", "text": "where is my parcel"}],
                            },
                            timeout=cap_s + 30,
                        )
                        code = response.json().get("error", {}).get("code", "ok")
                        answers.append(f"{response.status_code} {code}")
                    except httpx.TransportError as error:
                        answers.append(type(error).__name__)

                senders = [threading.Thread(target=send, args=(n,)) for n in range(STOP_MESSAGES)]
                for sender in senders:
                    sender.start()
                time.sleep(2)  # the messages are in flight, waiting for a worker
                started = time.perf_counter()
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=cap_s)
                    took = f"{time.perf_counter() - started:8.2f} s"
                except Exception:
                    process.kill()
                    process.wait()
                    took = f"> {cap_s:g} s (killed at the cap)"
                for sender in senders:
                    sender.join(timeout=5)
        finally:
            redis.stop()
    print(f"   {'SIGTERM to exit':<22} {took}   (target <= {grace + 2:g} s)")
    print(f"   {'answers':<22} {sorted(answers)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stop-cap", type=float, default=120.0, help="Longest wait for exit.")
    parser.add_argument("--only", choices=["images", "screenshot", "stop"], default=None)
    args = parser.parse_args()
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if args.only in (None, "images"):
        huge_images(huge_png())
    if args.only in (None, "screenshot"):
        long_screenshot(screenshot())
    if args.only in (None, "stop"):
        stop_time(args.stop_cap)


if __name__ == "__main__":
    main()
