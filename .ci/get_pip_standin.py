"""Offline stand-in for the get-pip script ansible-test downloads from a CI host we cannot reach.

ansible-test runs it inside a fresh virtual environment with pip's arguments. We bootstrap pip
from the interpreter's own ensurepip, then let that pip install the requested packages from PyPI
(ansible-test gives pip a bare environment, so the CA bundle is passed explicitly).
"""
import ensurepip
import subprocess
import sys

ensurepip.bootstrap(upgrade=True)
arguments = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", "--cert", "/etc/ssl/certs/ca-certificates.crt",
                          *arguments]))
