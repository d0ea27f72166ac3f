"""python -m tlsdoctor, and the ``tlsdoctor`` console script (``main``).

Signals are handled before anything else loads: a Ctrl-C while the CLI imports ends with one line
and exit 130, like one during the run (tlsdoctor.interrupt), never with a traceback.
"""

from tlsdoctor import interrupt

interrupt.install()
try:
    from tlsdoctor.cli import entry
except KeyboardInterrupt:
    import os

    os._exit(interrupt.finish("tlsdoctor"))


def main() -> None:
    entry()


if __name__ == "__main__":
    entry()
