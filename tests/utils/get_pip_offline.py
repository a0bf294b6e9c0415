# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A pip bootstrap script for ansible-test on machines that cannot download the real one.

ansible-test --venv runs its get-pip script with pip's install arguments. This one takes pip from
the interpreter's own bundled wheel (ensurepip) instead of the internet, then installs what it
was asked for from whatever package index pip is configured to use. tests/utils/pip_bootstrap.py
puts it where ansible-test looks, and only when the download fails.
"""

import ensurepip
import os
import subprocess
import sys


def main(arguments):
    environment = dict(os.environ)
    # ensurepip clears PIP_* variables and points PIP_CONFIG_FILE at /dev/null; the install below
    # must see the user's pip configuration (their index) again.
    ensurepip.bootstrap(upgrade=True)
    os.environ.clear()
    os.environ.update(environment)
    # get-pip options that pip install does not know.
    arguments = [argument for argument in arguments if argument not in ("--no-setuptools", "--no-wheel")]
    return subprocess.call([sys.executable, "-m", "pip", "install", "--upgrade"] + arguments)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
