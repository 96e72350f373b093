# SMPTE ST 430-2 certificate chains made with stock openssl, as a media-block manufacturer makes
# them: RSA-2048 e=65537, sha256WithRSA, PrintableString names (string_mask nombstr) holding
# O, OU, CN and dnQualifier = base64(SHA-1(PKCS #1 RSAPublicKey DER)), a root and an intermediate CA
# and a leaf whose CN names its roles before the first '.' (SM for a screen's Security Manager).
# Sourced by scripts/demo; needs openssl.

# dc_cert DIR NAME CN ORG OU DAYS ISSUER(or "") CA|LEAF PATHLEN
dc_cert() {
  local dir=$1 name=$2 cn=$3 org=$4 ou=$5 days=$6 issuer=$7 kind=$8 pathlen=${9:-0}
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -pkeyopt rsa_keygen_pubexp:65537 \
    -out "$dir/$name.key" 2>/dev/null || return 1
  local dnq
  dnq=$(openssl rsa -in "$dir/$name.key" -RSAPublicKey_out -outform DER 2>/dev/null | openssl dgst -sha1 -binary | base64)
  local ext
  if [ "$kind" = CA ]; then
    ext="basicConstraints=critical,CA:TRUE,pathlen:$pathlen
keyUsage=critical,keyCertSign,cRLSign
subjectKeyIdentifier=hash"
  else
    ext="basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid"
  fi
  cat >"$dir/$name.cnf" <<CNF
[req]
prompt = no
string_mask = nombstr
distinguished_name = dn
x509_extensions = ext
[dn]
O = $org
OU = $ou
CN = $cn
dnQualifier = $dnq
[ext]
$ext
CNF
  local serial
  serial=$(( (RANDOM << 16) | RANDOM ))
  if [ -z "$issuer" ]; then
    openssl req -new -x509 -sha256 -key "$dir/$name.key" -config "$dir/$name.cnf" -days "$days" \
      -set_serial "$serial" -out "$dir/$name.pem" 2>/dev/null || return 1
  else
    openssl req -new -sha256 -key "$dir/$name.key" -config "$dir/$name.cnf" -out "$dir/$name.csr" 2>/dev/null \
      && openssl x509 -req -sha256 -in "$dir/$name.csr" -CA "$dir/$issuer.pem" -CAkey "$dir/$issuer.key" \
        -set_serial "$serial" -days "$days" -extfile "$dir/$name.cnf" -extensions ext \
        -out "$dir/$name.pem" 2>/dev/null || return 1
  fi
}

# dc_manufacturer DIR NAME ORG: a manufacturer's root (NAME-root) and intermediate (NAME-ca)
dc_manufacturer() {
  local dir=$1 name=$2 org=$3
  dc_cert "$dir" "$name-root" ".$org Root CA" "$org" "$org Certification" 3650 "" CA 1 \
    && dc_cert "$dir" "$name-ca" ".$org Device CA" "$org" "$org Certification" 3600 "$name-root" CA 0
}

# dc_screen DIR MAKER SCREEN ORG OU: a screen's Security Manager certificate, and its chain file
# SCREEN.chain.pem (leaf, intermediate, root) and private key SCREEN.key
dc_screen() {
  local dir=$1 maker=$2 screen=$3 org=$4 ou=$5
  dc_cert "$dir" "$screen" "SM.$screen.$org" "$org" "$ou" 1825 "$maker-ca" LEAF \
    && cat "$dir/$screen.pem" "$dir/$maker-ca.pem" "$dir/$maker-root.pem" >"$dir/$screen.chain.pem"
}
