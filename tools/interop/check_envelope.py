# Independent check with python-cryptography + cbor2: signatures and payload decryption.
import sys, cbor2, hashlib
from cryptography.hazmat.primitives.asymmetric import ec, utils
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

def pub(path):
    k = cbor2.loads(open(path,'rb').read())
    return ec.EllipticCurvePublicNumbers(int.from_bytes(k[-2],'big'), int.from_bytes(k[-3],'big'), ec.SECP256R1()).public_key()
def priv(path):
    k = cbor2.loads(open(path,'rb').read())
    return ec.derive_private_key(int.from_bytes(k[-4],'big'), ec.SECP256R1())
def verify(key, prot, payload, sig):
    tbs = cbor2.dumps(['Signature1', prot, b'', payload])
    key.verify(utils.encode_dss_signature(int.from_bytes(sig[:32],'big'), int.from_bytes(sig[32:],'big')), tbs, ec.ECDSA(hashes.SHA256()))

env = cbor2.loads(open(sys.argv[1],'rb').read()).value
auth = cbor2.loads(env[2]); digest = auth[0]
assert cbor2.loads(digest)[1] == hashlib.sha256(cbor2.dumps(env[3])).digest(), "manifest digest"
author, operator = pub('author.pub'), pub('op.pub')
for i, s in enumerate(auth[1:]):
    prot, unprot, payload, sig = cbor2.loads(s).value
    h = cbor2.loads(prot)
    if 13 in h:
        verify(author, prot, digest, sig); print(f'signature {i}: author signature verifies with author.pub')
        cwt = h[13].value
        verify(operator, cwt[0], cwt[2], cwt[3]); print('  its kcwt credential verifies with op.pub')
    else:
        verify(operator, prot, digest, sig); print(f'signature {i}: operator approval verifies with op.pub; claims', h[-70020])
m = cbor2.loads(env[3]); common = cbor2.loads(m[3]); shared = cbor2.loads(common[4])
params = shared[1]; info = cbor2.loads(params[19]).value
prot, unprot, ct, recipients = info
rprot, runprot, wrapped = recipients[0]
epk = runprot[-1]
e = ec.EllipticCurvePublicNumbers(int.from_bytes(epk[-2],'big'), int.from_bytes(epk[-3],'big'), ec.SECP256R1()).public_key()
shared_secret = priv('opkek.key').exchange(ec.ECDH(), e)
ctx = cbor2.dumps([-3, [None,None,None], [None,None,None], [128, rprot, b'SUIT Payload Encryption']])
kek = HKDF(algorithm=hashes.SHA256(), length=16, salt=None, info=ctx).derive(shared_secret)
cek = aes_key_unwrap(kek, wrapped)
aad = cbor2.dumps(['Encrypt', prot, b''])
plain = AESGCM(cek).decrypt(unprot[5], open(sys.argv[2],'rb').read(), aad)
d = cbor2.loads(params[3])
assert hashlib.sha256(plain).digest() == d[1] and len(plain) == params[14]
assert plain == open(sys.argv[3],'rb').read()
print('payload decrypts with standard ECDH-ES+A128KW + A128GCM; digest and size match;', len(plain), 'bytes')
