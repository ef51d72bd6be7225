"""A private PKI made with openssl at test time: a CA, a server certificate for 127.0.0.1 issued by it, and a
client certificate for mutual TLS. EC keys (quick to make); the keys are readable by their owner only."""

import pathlib
import subprocess

EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


class Pki:
    def __init__(self, directory: pathlib.Path):
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.ca = self.dir / "department-ca.pem"
        self._openssl("req", "-x509", *EC, "-keyout", "ca.key", "-out", self.ca.name, "-days", "2",
                      "-subj", "/CN=Department Test CA")
        self.server_cert, self.server_key = self._issue("server", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
        self.client_cert, self.client_key = self._issue("client", "extendedKeyUsage=clientAuth\n")

    def _issue(self, name: str, extensions: str) -> tuple[pathlib.Path, pathlib.Path]:
        (self.dir / f"{name}.ext").write_text(extensions)
        self._openssl("req", *EC, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}")
        self._openssl("x509", "-req", "-in", f"{name}.csr", "-CA", self.ca.name, "-CAkey", "ca.key", "-CAcreateserial",
                      "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext")
        key = self.dir / f"{name}.key"
        key.chmod(0o600)
        return self.dir / f"{name}.pem", key

    def _openssl(self, *args: str) -> None:
        done = subprocess.run(["openssl", *args], cwd=self.dir, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, f"openssl {' '.join(args)}: {done.stderr}"

    def server_env(self, require_client: bool = False) -> dict[str, str]:
        """The environment that makes a seed-style server speak TLS with the server certificate."""
        env = {"TLS_CERT": str(self.server_cert), "TLS_KEY": str(self.server_key)}
        if require_client:
            env["TLS_CLIENT_CA"] = str(self.ca)
        return env
