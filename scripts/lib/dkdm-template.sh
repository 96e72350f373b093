# A DKDM made the way a mastering house's tool makes one, with stock tools only: an SMPTE ST 430-1
# template filled in by hand, each 138-byte key block packed byte by byte and encrypted with
# 'openssl pkeyutl' (RSA-OAEP, SHA-1), the whole signed with 'xmlsec1 --sign' (RSA-SHA256,
# inclusive C14N with comments, both references). Keycast's own KDM writer is not involved: this is
# the independent path the demo's studio act ingests. Sourced by scripts/demo; needs openssl,
# xmlsec1, od.

# _dk_hex FILE: the file's bytes as lowercase hex
_dk_hex() { od -An -tx1 -v "$1" | tr -d ' \n'; }

# _dk_bytes HEX: writes the bytes of HEX to stdout
_dk_bytes() { printf "$(sed 's/../\\x&/g' <<<"$1")"; }

# _dk_tbs_sha1 PEM: SHA-1 of the certificate's TBSCertificate, raw bytes as hex (its thumbprint)
_dk_tbs_sha1() {
  local der hex len
  der=$(mktemp)
  openssl x509 -in "$1" -outform DER -out "$der" || return 1
  hex=$(_dk_hex "$der")
  rm -f "$der"
  # Certificate ::= SEQUENCE (30 82 LL LL) { tbsCertificate SEQUENCE (30 82 LL LL) ... }
  [ "${hex:0:4}" = 3082 ] && [ "${hex:8:4}" = 3082 ] || return 1
  len=$(( 16#${hex:12:4} + 4 ))
  _dk_bytes "${hex:8:$((len * 2))}" | openssl dgst -sha1 -binary | od -An -tx1 -v | tr -d ' \n'
}

# _dk_name PEM -issuer|-subject: the name as RFC 2253, XML-escaped
_dk_name() {
  openssl x509 -in "$1" -noout "$2" -nameopt RFC2253 | sed 's/^[a-z]*= *//; s/&/\&amp;/g; s/</\&lt;/g; s/>/\&gt;/g'
}

# _dk_serial PEM: the serial number in decimal (serials below 2^63)
_dk_serial() {
  local hex
  hex=$(openssl x509 -in "$1" -noout -serial | cut -d= -f2)
  [ "${#hex}" -le 16 ] || return 1
  echo $(( 16#$hex ))
}

# dkdm_build OUT RECIPIENT_PEM STUDIO_KEY STUDIO_CHAIN_PEMS(comma-separated, leaf first) CPL TITLE NB NA KEY...
#   NB, NA: ST 430-1 timestamps (2026-12-08T00:00:00+00:00); KEY: UUID:TYPE:HEX (AES-128 key)
dkdm_build() {
  local out=$1 recipient=$2 studio_key=$3 chain=$4 cpl=$5 title=$6 nb=$7 na=$8
  shift 8
  local dir leaf signer_thumb typed="" encrypted="" k id type key block
  dir=$(mktemp -d)
  leaf=${chain%%,*}
  openssl x509 -in "$recipient" -pubkey -noout >"$dir/recipient.pub" || return 1
  signer_thumb=$(_dk_tbs_sha1 "$leaf") || return 1
  for k in "$@"; do
    id=${k%%:*}; type=${k#*:}; type=${type%%:*}; key=${k##*:}
    typed+="<TypedKeyId><KeyType scope=\"http://www.smpte-ra.org/430-1/2006/KDM#kdm-key-type\">$type</KeyType><KeyId>urn:uuid:$id</KeyId></TypedKeyId>"
    block="f1dc124460169a0e85bc300642f866ab$signer_thumb${cpl//-/}$(printf '%s' "$type" | od -An -tx1 | tr -d ' \n')${id//-/}"
    block+="$(printf '%s%s' "$nb" "$na" | od -An -tx1 -v | tr -d ' \n')$key"
    [ "${#block}" = 276 ] || { rm -rf "$dir"; return 1; }
    _dk_bytes "$block" >"$dir/block.bin"
    openssl pkeyutl -encrypt -pubin -inkey "$dir/recipient.pub" -pkeyopt rsa_padding_mode:oaep \
      -in "$dir/block.bin" -out "$dir/block.enc" || { rm -rf "$dir"; return 1; }
    rm -f "$dir/block.bin"
    encrypted+="<enc:EncryptedKey><enc:EncryptionMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p\"><dsig:DigestMethod Algorithm=\"http://www.w3.org/2000/09/xmldsig#sha1\"/></enc:EncryptionMethod><enc:CipherData><enc:CipherValue>$(base64 -w0 "$dir/block.enc")</enc:CipherValue></enc:CipherData></enc:EncryptedKey>"
  done
  cat >"$dir/template.xml" <<XML
<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<DCinemaSecurityMessage xmlns="http://www.smpte-ra.org/schemas/430-3/2006/ETM" xmlns:dsig="http://www.w3.org/2000/09/xmldsig#" xmlns:enc="http://www.w3.org/2001/04/xmlenc#">
<AuthenticatedPublic Id="ID_AuthenticatedPublic">
<MessageId>urn:uuid:$(cat /proc/sys/kernel/random/uuid)</MessageId>
<MessageType>http://www.smpte-ra.org/430-1/2006/KDM#kdm-key-type</MessageType>
<AnnotationText>DKDM for $title</AnnotationText>
<IssueDate>$nb</IssueDate>
<Signer><dsig:X509IssuerName>$(_dk_name "$leaf" -issuer)</dsig:X509IssuerName><dsig:X509SerialNumber>$(_dk_serial "$leaf")</dsig:X509SerialNumber></Signer>
<RequiredExtensions>
<KDMRequiredExtensions xmlns="http://www.smpte-ra.org/schemas/430-1/2006/KDM">
<Recipient><X509IssuerSerial><dsig:X509IssuerName>$(_dk_name "$recipient" -issuer)</dsig:X509IssuerName><dsig:X509SerialNumber>$(_dk_serial "$recipient")</dsig:X509SerialNumber></X509IssuerSerial><X509SubjectName>$(_dk_name "$recipient" -subject)</X509SubjectName></Recipient>
<CompositionPlaylistId>urn:uuid:$cpl</CompositionPlaylistId>
<ContentTitleText>$title</ContentTitleText>
<ContentKeysNotValidBefore>$nb</ContentKeysNotValidBefore>
<ContentKeysNotValidAfter>$na</ContentKeysNotValidAfter>
<AuthorizedDeviceInfo><DeviceListIdentifier>urn:uuid:$(cat /proc/sys/kernel/random/uuid)</DeviceListIdentifier><DeviceList><CertificateThumbprint>2jmj7l5rSw0yVb/vlWAYkK/YBwk=</CertificateThumbprint></DeviceList></AuthorizedDeviceInfo>
<KeyIdList>$typed</KeyIdList>
</KDMRequiredExtensions>
</RequiredExtensions>
<NonCriticalExtensions/>
</AuthenticatedPublic>
<AuthenticatedPrivate Id="ID_AuthenticatedPrivate">$encrypted</AuthenticatedPrivate>
<dsig:Signature><dsig:SignedInfo><dsig:CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments"/><dsig:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><dsig:Reference URI="#ID_AuthenticatedPublic"><dsig:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><dsig:DigestValue/></dsig:Reference><dsig:Reference URI="#ID_AuthenticatedPrivate"><dsig:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><dsig:DigestValue/></dsig:Reference></dsig:SignedInfo><dsig:SignatureValue/><dsig:KeyInfo><dsig:X509Data/></dsig:KeyInfo></dsig:Signature>
</DCinemaSecurityMessage>
XML
  xmlsec1 --sign --privkey-pem "$studio_key,$chain" \
    --id-attr:Id http://www.smpte-ra.org/schemas/430-3/2006/ETM:AuthenticatedPublic \
    --id-attr:Id http://www.smpte-ra.org/schemas/430-3/2006/ETM:AuthenticatedPrivate \
    --output "$out" "$dir/template.xml" 2>"$dir/xmlsec1.err" || { cat "$dir/xmlsec1.err" >&2; rm -rf "$dir"; return 1; }
  rm -rf "$dir"
}
