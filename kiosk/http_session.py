"""HTTP sessions for the hub's and the kiosk's hot paths, with the environment read once."""
from __future__ import annotations

import os

import requests
import urllib3
from requests.adapters import HTTPAdapter

# Connections kept per host: the hub's relay runs `hub.relay_concurrency` deliveries at once on one session
# (requests keeps 10, and a call beyond them opens a connection and drops it afterwards).
POOL_SIZE = 32


def session_for(base_url: str, verify_tls: bool | str = True) -> requests.Session:
    """A `requests.Session` for calls to `base_url` whose environment settings — the proxy for that URL
    (`HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY`, …) and the CA bundle (`REQUESTS_CA_BUNDLE`, `CURL_CA_BUNDLE`) — are
    read here, once, instead of on every call.

    With requests' default (`trust_env`), every call walks the whole environment for proxies and looks for a
    `~/.netrc`: about a tenth of the hub's work per relayed case. A change of the environment takes a restart of
    the process, as with any other setting; `.netrc` credentials are not used (the hub and the platform are
    called with tokens and signatures)."""
    session = requests.Session()
    for scheme in ("http://", "https://"):
        session.mount(scheme, HTTPAdapter(pool_maxsize=POOL_SIZE))
    session.trust_env = False
    session.proxies.update(requests.utils.get_environ_proxies(base_url))
    session.verify = _proxy_and_ca(base_url, verify_tls)[1]
    return session


def _proxy_and_ca(base_url: str, verify_tls: bool | str) -> tuple[str | None, bool | str]:
    """The proxy for `base_url` and the TLS check as requests would choose them: `NO_PROXY` honoured, the CA
    bundle from `REQUESTS_CA_BUNDLE` / `CURL_CA_BUNDLE` unless `verify_tls` names one or is False."""
    proxy = requests.utils.select_proxy(base_url, requests.utils.get_environ_proxies(base_url))
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    return proxy, (bundle if verify_tls is True and bundle else verify_tls)


def pool_for(base_url: str, verify_tls: bool | str = True) -> urllib3.PoolManager:
    """A urllib3 pool for calls to `base_url`, with the same proxy and CA-bundle choices as `session_for`.

    For a caller that makes many small calls on one thread pool and needs nothing of requests beyond them (the
    hub's platform adapter): a call through `requests` costs about twice the client CPU of the same call through
    urllib3, which requests itself uses underneath. No retries, no redirects: the caller decides what a failure
    means."""
    proxy, verify = _proxy_and_ca(base_url, verify_tls)
    if verify is False:
        tls: dict = {"cert_reqs": "CERT_NONE"}
    else:
        tls = {"cert_reqs": "CERT_REQUIRED",
               "ca_certs": verify if isinstance(verify, str) else requests.certs.where()}
    options = {"maxsize": POOL_SIZE, "retries": False, **tls}
    if proxy:
        return urllib3.ProxyManager(proxy, **options)
    return urllib3.PoolManager(**options)
