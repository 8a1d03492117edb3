# SPDX-License-Identifier: Apache-2.0
"""unittest_tsv.py -- run one integration module with unittest's verbose
runner (its output goes to the log as usual) and write one line per test to
a file: "ok|skip|fail<TAB>name<TAB>reason". tests/run counts those lines, so a
test that prints while it runs is still counted, which parsing the verbose
text could not promise.

    python3 -m tests.unittest_tsv tests.integration.test_x RESULTS_FILE
"""
import sys
import unittest


class Recorder(unittest.TextTestResult):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.rows = []

    def _name(self, test):
        return test.id().rsplit(".", 1)[-1]

    def addSuccess(self, test):
        super().addSuccess(test)
        self.rows.append(("ok", self._name(test), ""))

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self.rows.append(("skip", self._name(test), reason.replace("\t", " ").replace("\n", " ")))

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self.rows.append(("ok", self._name(test), ""))

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self.rows.append(("fail", self._name(test), "unexpected success"))

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self.rows.append(("fail", self._name(test), ""))

    def addError(self, test, err):
        super().addError(test, err)
        # setUpClass errors arrive as _ErrorHolder with the class in its id
        self.rows.append(("fail", self._name(test) if hasattr(test, "_testMethodName")
                          else str(test), ""))


def main():
    module, out = sys.argv[1], sys.argv[2]
    suite = unittest.defaultTestLoader.loadTestsFromName(module)
    runner = unittest.TextTestRunner(stream=sys.stderr, verbosity=2, resultclass=Recorder)
    result = runner.run(suite)
    with open(out, "w") as f:
        for status, name, reason in result.rows:
            f.write("%s\t%s\t%s\n" % (status, name, reason))
    sys.exit(0 if result.wasSuccessful() else 1)


if __name__ == "__main__":
    main()
