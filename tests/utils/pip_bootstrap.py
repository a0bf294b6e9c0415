# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Make `ansible-test sanity --venv` (and `units --venv`) work on a machine with no internet.

ansible-test bootstraps pip in its virtual environments with a script it downloads, and fails
with "Download failed" where that host is out of reach, although the package index may be
reachable. Run with the Python of the virtualenv that holds ansible-core: if ansible-test's
cache has no script for the pip version it wants and the download fails, the cache gets
tests/utils/get_pip_offline.py instead. With a working download, nothing changes.
"""

import inspect
import os
import re
import shutil
import sys
import urllib.request

from ansible_test._internal import python_requirements
from ansible_test._util.target.setup import requirements

STAND_IN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "get_pip_offline.py")


def wanted():
    """The pip version this ansible-test bootstraps, its download URL and its cache path."""
    version = re.search(r"pip=['\"]([0-9.]+)['\"]", inspect.getsource(python_requirements.get_venv_packages)).group(1)
    url = re.search(r"url = '([^']+)' % pip_version", inspect.getsource(requirements.bootstrap)).group(1) % version
    cache = os.path.expanduser("~/.ansible/test/cache/get_pip_%s.py" % version.replace(".", "_"))
    return version, url, cache


def main():
    version, url, cache = wanted()
    if os.path.exists(cache):
        return 0
    os.makedirs(os.path.dirname(cache), exist_ok=True)
    try:
        with urllib.request.urlopen(url, timeout=15) as response:  # nosec B310: ansible-test's own https URL
            body = response.read()
    except OSError as exc:
        shutil.copyfile(STAND_IN, cache)
        print("ansible-test's pip %s bootstrap script cannot be downloaded (%s): using %s, which bootstraps pip "
              "from the interpreter's bundled wheel" % (version, getattr(exc, "reason", exc), os.path.relpath(STAND_IN)))
        return 0
    with open(cache + ".download", "wb") as handle:
        handle.write(body)
    os.replace(cache + ".download", cache)
    return 0


if __name__ == "__main__":
    sys.exit(main())
