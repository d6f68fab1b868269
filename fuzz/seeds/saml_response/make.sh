#!/usr/bin/env bash
# Seeds for the saml_response fuzz target: two responses Okta-shaped and signed with the
# xmlsec1 CLI by the okta test key (assertion-signed, response-signed), valid at the fuzz
# target's `now` (2026-03-01T12:00:00Z), so that mutations start from documents that reach
# samael and the checks behind it. .ci/run copies them into the target's corpus.
# Regenerate: bash fuzz/seeds/saml_response/make.sh (needs xmlsec1).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
fx="$here/../../../tests/fixtures/saml"
entity="http://www.okta.com/exk1fcia6d6EMsf331d8"
sig() {
    cat <<XML
<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><ds:Reference URI="#$1"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue/></ds:Reference></ds:SignedInfo><ds:SignatureValue/></ds:Signature>
XML
}
response() { # $1: signature in the response, $2: signature in the assertion
    cat <<XML
<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r1" Version="2.0" IssueInstant="2026-03-01T12:00:00Z" Destination="https://signin.aws.amazon.com/saml"><saml:Issuer>$entity</saml:Issuer>$1<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status><saml:Assertion ID="_a1" IssueInstant="2026-03-01T12:00:00Z" Version="2.0"><saml:Issuer>$entity</saml:Issuer>$2<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">alice@example.com</saml:NameID><saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="2026-03-01T12:05:00Z" Recipient="https://signin.aws.amazon.com/saml"/></saml:SubjectConfirmation></saml:Subject><saml:Conditions NotBefore="2026-03-01T11:55:00Z" NotOnOrAfter="2026-03-01T12:05:00Z"><saml:AudienceRestriction><saml:Audience>urn:amazon:webservices</saml:Audience></saml:AudienceRestriction></saml:Conditions><saml:AuthnStatement AuthnInstant="2026-03-01T12:00:00Z" SessionNotOnOrAfter="2026-03-01T20:00:00Z"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement><saml:AttributeStatement><saml:Attribute Name="https://aws.amazon.com/SAML/Attributes/Role"><saml:AttributeValue>arn:aws:iam::123456789012:role/dev,arn:aws:iam::123456789012:saml-provider/okta</saml:AttributeValue></saml:Attribute><saml:Attribute Name="https://aws.amazon.com/SAML/Attributes/RoleSessionName"><saml:AttributeValue>alice</saml:AttributeValue></saml:Attribute></saml:AttributeStatement></saml:Assertion></samlp:Response>
XML
}
tmp="$(mktemp)"
trap 'rm -f "$tmp"' EXIT
response "" "$(sig _a1)" >"$tmp"
xmlsec1 --sign --privkey-pem "$fx/okta.key" --id-attr:ID urn:oasis:names:tc:SAML:2.0:assertion:Assertion "$tmp" >"$here/assertion-signed.xml"
response "$(sig _r1)" "" >"$tmp"
xmlsec1 --sign --privkey-pem "$fx/okta.key" --id-attr:ID urn:oasis:names:tc:SAML:2.0:protocol:Response "$tmp" >"$here/response-signed.xml"
