# stratum.ops stand-in for ansible-test's get-pip.py bootstrap script.
# ansible-test runs this with the new virtualenv's interpreter and pip-install arguments
# (e.g. "pip==25.2 --no-setuptools --no-wheel"); we seed pip with ensurepip, then let pip
# install the requested version from the package registry, which is reachable offline-from-the-internet.
import subprocess
import sys

args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"], stdout=subprocess.DEVNULL)
subprocess.check_call([sys.executable, "-m", "pip", "install", "--disable-pip-version-check", *args])
