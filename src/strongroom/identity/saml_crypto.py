"""XML signature checks for pysaml2 in this process (libxmlsec1 through the `xmlsec` binding), instead
of its default backend that runs the xmlsec1 binary three times per signature (`--version` twice, then
`--verify` on a temporary file): that was most of a SAML sign-in's server time (bench/README.md).

pysaml2's own `crypto_backend: XMLSecurity` is not used: it is written for pyXMLSecurity (a different
package with the same module name) and ignores which node must be signed, the heart of the
signature-wrapping defence. This backend keeps what pysaml2 asks of the binary and adds to it:
- the signed node is found by its ID, registered on that node only (`--id-attr:ID <node> --node-id`),
  and that ID must occur once in the document (the binary refuses duplicate IDs too);
- the signature must be the node's own child, with exactly one Reference, to `#<its ID>`, so it signs
  the whole node and nothing from elsewhere (pysaml2 checks this too, before it calls us);
- only the key from the IdP's metadata is used: KeyInfo in the document is never trusted;
- only the enveloped-signature and exclusive-c14n reference transforms are enabled (no XPath, XSLT,
  remote URIs), and only RSA/ECDSA SHA-2 signature methods; SHA-1 (digest and RSA-SHA1) only where the
  force's IdP still needs it and the setting `[sso.saml] allow_sha1` says so (collisions are practical).
The XML was already parsed once with defusedxml (no DTD, no entities); lxml here resolves no entities
and reads nothing from the network either.
"""

from __future__ import annotations

import threading
from importlib import metadata
from pathlib import Path
from typing import Any

import xmlsec
from lxml import etree
from saml2.sigver import CryptoBackend

DSIG = "{http://www.w3.org/2000/09/xmldsig#}"

_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False
)
_REFERENCE_TRANSFORMS = (
    xmlsec.constants.TransformEnveloped,
    xmlsec.constants.TransformExclC14N,
    xmlsec.constants.TransformExclC14NWithComments,
    # digest methods are reference transforms to libxmlsec1 too
    xmlsec.constants.TransformSha256,
    xmlsec.constants.TransformSha384,
    xmlsec.constants.TransformSha512,
)
_SIGNATURE_TRANSFORMS = (
    xmlsec.constants.TransformExclC14N,
    xmlsec.constants.TransformExclC14NWithComments,
    xmlsec.constants.TransformRsaSha256,
    xmlsec.constants.TransformRsaSha384,
    xmlsec.constants.TransformRsaSha512,
    xmlsec.constants.TransformEcdsaSha256,
    xmlsec.constants.TransformEcdsaSha384,
    xmlsec.constants.TransformEcdsaSha512,
)
_SHA1_REFERENCE_TRANSFORMS = (xmlsec.constants.TransformSha1,)
_SHA1_SIGNATURE_TRANSFORMS = (xmlsec.constants.TransformRsaSha1,)


class InProcessXmlSec(CryptoBackend):  # type: ignore[misc]  # pysaml2 has no type hints
    """pysaml2's CryptoBackend for checking signatures only (Strongroom signs nothing with SAML)."""

    def __init__(self, *, allow_sha1: bool = False) -> None:
        super().__init__()
        self._reference_transforms = _REFERENCE_TRANSFORMS + (
            _SHA1_REFERENCE_TRANSFORMS if allow_sha1 else ()
        )
        self._signature_transforms = _SIGNATURE_TRANSFORMS + (
            _SHA1_SIGNATURE_TRANSFORMS if allow_sha1 else ()
        )
        self._keys: dict[bytes, xmlsec.Key] = {}
        self._lock = threading.Lock()

    @property
    def version(self) -> str:
        return metadata.version("xmlsec")

    def validate_signature(
        self, signedtext: str | bytes, cert_file: str, cert_type: str, node_name: str, node_id: str | None
    ) -> bool:
        """Whether the node `node_name` with ID `node_id` carries a valid signature by `cert_file`'s key.
        The signature of a node nobody named is never checked: without an ID there is nothing to bind."""
        if cert_type != "pem" or not node_id:
            return False
        xml = signedtext.encode() if isinstance(signedtext, str) else signedtext
        try:
            root = etree.fromstring(xml, parser=_PARSER)
        except etree.XMLSyntaxError:
            return False
        node = _the_node(root, node_name, node_id)
        signature = node.find(f"{DSIG}Signature") if node is not None else None
        if node is None or signature is None or not _references_only(signature, node_id):
            return False
        context = xmlsec.SignatureContext()
        context.register_id(node, "ID")
        for transform in self._reference_transforms:
            context.enable_reference_transform(transform)
        for transform in self._signature_transforms:
            context.enable_signature_transform(transform)
        context.key = self._key(Path(cert_file).read_bytes())
        try:
            context.verify(signature)
        except xmlsec.Error:
            return False
        return True

    def _key(self, pem: bytes) -> Any:
        """The IdP's public key, loaded once per certificate (pysaml2 hands it over as a file)."""
        with self._lock:
            key = self._keys.get(pem)
            if key is None:
                key = xmlsec.Key.from_memory(pem, xmlsec.constants.KeyDataFormatCertPem)
                if len(self._keys) > 16:  # a rolled-over IdP certificate: forget the old ones
                    self._keys.clear()
                self._keys[pem] = key
            return key


def _the_node(root: Any, node_name: str, node_id: str) -> Any:
    """The one element named `node_name` ("<namespace>:<local name>") whose ID is `node_id`, or None
    when no element or more than one element in the whole document has that ID."""
    namespace, _, local = node_name.rpartition(":")
    holders = root.xpath("//@ID[. = $id]/..", id=node_id)
    if len(holders) != 1 or holders[0].tag != f"{{{namespace}}}{local}":
        return None
    return holders[0]


def _references_only(signature: Any, node_id: str) -> bool:
    references = signature.findall(f"{DSIG}SignedInfo/{DSIG}Reference")
    return len(references) == 1 and references[0].get("URI") == f"#{node_id}"
