"""python -m tlsdoctor"""

from tlsdoctor.cli import entry

entry()
