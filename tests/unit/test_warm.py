"""warm.preload: the modules a diagnosis needs after the server's answer load in a thread while the
default handshake waits, and every name the playbook lists is a module that exists (a renamed module
would silently go back onto the critical path)."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_the_playbook_list_loads_in_a_thread_of_a_cold_process() -> None:
    script = textwrap.dedent(
        """
        import sys
        from tlsdoctor.commands.playbook import AFTER_THE_ANSWER
        from tlsdoctor.warm import preload
        modules = [m.partition(":")[0] for m in AFTER_THE_ANSWER]
        cold = [m for m in modules if m not in sys.modules]
        assert "tlsdoctor.checks.certificate" in cold, cold
        # Loading a --ca-file of ordinary size before the first handshake needs no cryptography.
        import ssl
        from pathlib import Path
        from tlsdoctor.net.anchors import load_ca_file
        load_ca_file(ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT), Path(ssl.get_default_verify_paths().cafile))
        assert "cryptography.x509" not in sys.modules
        warming = preload(AFTER_THE_ANSWER)
        assert warming is not None and warming.thread.daemon
        warming.thread.join(60)
        missing = [m for m in modules if m not in sys.modules]
        assert not missing, missing
        from tlsdoctor.certs import trust  # the system store was parsed ahead, once
        assert trust._load_system.cache_info().currsize == 1
        assert "cryptography.x509" in sys.modules  # the certificate analysis brought it
        assert preload(AFTER_THE_ANSWER) is None  # warm: no thread at all
        print("ok")
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0 and proc.stdout == "ok\n", proc.stderr


def test_a_module_that_fails_to_import_is_left_to_its_real_use() -> None:
    from tlsdoctor.warm import preload

    warming = preload(["tlsdoctor.no_such_module_here"])
    assert warming is not None
    warming.thread.join(10)
    assert "tlsdoctor.no_such_module_here" not in sys.modules


def test_a_stopped_preload_starts_no_further_module() -> None:
    script = textwrap.dedent(
        """
        import sys
        from tlsdoctor.warm import Preload
        names = ["tlsdoctor.inference.rules.cert", "tlsdoctor.report.human"]
        assert not any(n in sys.modules for n in names)
        warming = Preload(names)
        warming.stop()  # the handshake ended before the thread got going
        warming.start().thread.join(60)
        assert not any(n in sys.modules for n in names), [n for n in names if n in sys.modules]
        print("ok")
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0 and proc.stdout == "ok\n", proc.stderr
