"""A stand-in backend for tests of the results model and reports: no framework, no run."""


class FakeBackend:
    level = "function"
    modes = ("eager",)
    compiled_modes = ()
    unsupported_options = ()

    def __init__(self, name, missing=None):
        self.name, self.missing = name, missing

    def missing_package(self):
        return self.missing

    def version(self):
        return "fake 1.0"

    def code_versions(self):
        from conformance.base.code_versions import CodeVersion

        return [CodeVersion("fake", "1.0", "/fake", ("fake 1.0",))]
