// Package munge speaks the local MUNGE daemon's (munged's) socket protocol
// from Go, so that the static client can obtain credentials and the
// controller can decode them without cgo, libmunge or a `munge` process per
// request.
//
// # Wire format
//
// One request and one response per connection on munged's unix stream socket
// (default /run/munge/munge.socket.2). Every integer is big-endian. Each
// message is an 11-byte header followed by a body:
//
//	header:  magic u32 (0x00606D4B) | version u8 (4) | type u8 | retry u8 | body length u32
//
// The message types used here and their bodies:
//
//	ENC_REQ (2): cipher u8 | mac u8 | zip u8 | realm_len u8 | realm | ttl u32 |
//	             auth_uid u32 | auth_gid u32 | data_len u32 | data
//	ENC_RSP (3): error u8 | error_len u8 | error string (with NUL) |
//	             data_len u32 | data (the credential, NUL-terminated)
//	DEC_REQ (4): data_len u32 | data (the credential, NUL-terminated)
//	DEC_RSP (5): error u8 | error_len u8 | error string | cipher u8 | mac u8 |
//	             zip u8 | realm_len u8 | realm | ttl u32 | addr_len u8 | addr |
//	             encode_time u32 | decode_time u32 | cred_uid u32 | cred_gid u32 |
//	             auth_uid u32 | auth_gid u32 | data_len u32 | data (the payload)
//
// munged learns the caller's uid and gid from the socket (SO_PEERCRED on
// Linux), so an encode request carries no identity: the credential names the
// process that asked for it. A decode answers the credential's uid, gid and
// payload; it fails for an invalid or expired credential, and for one that
// this munged has already decoded (EMUNGE_CRED_REPLAYED): each credential
// decodes once per munged within its time-to-live.
//
// This package is part of the client binary: it uses the standard library
// only.
package munge

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"time"
)

// DefaultSocket is where munged listens unless told otherwise.
const DefaultSocket = "/run/munge/munge.socket.2"

// EnvSocket names the environment variable that overrides the client's
// munged socket path.
const EnvSocket = "FAIRWAY_MUNGE_SOCKET"

// Protocol constants (libcommon/m_msg.h).
const (
	msgMagic   = 0x00606D4B
	msgVersion = 4
	hdrSize    = 11

	typeEncReq = 2
	typeEncRsp = 3
	typeDecReq = 4
	typeDecRsp = 5

	// anyID is MUNGE_UID_ANY / MUNGE_GID_ANY: anyone may decode.
	anyID = 0xFFFFFFFF
	// cipherDefault, macDefault and zipNone are munge_cipher_t,
	// munge_mac_t and munge_zip_t values.
	cipherDefault = 1
	macDefault    = 1
	zipNone       = 0

	// maxMsg bounds a response body; credentials are a few hundred bytes.
	maxMsg = 1 << 20
	// defaultTimeout bounds one exchange when the context has no deadline.
	defaultTimeout = 10 * time.Second
)

// Code is a MUNGE error number (munge_err_t).
type Code uint8

// The MUNGE error numbers (munge.h).
const (
	Success         Code = 0
	ErrSnafu        Code = 1
	ErrBadArg       Code = 2
	ErrBadLength    Code = 3
	ErrOverflow     Code = 4
	ErrNoMemory     Code = 5
	ErrSocket       Code = 6
	ErrTimeout      Code = 7
	ErrBadCred      Code = 8
	ErrBadVersion   Code = 9
	ErrBadCipher    Code = 10
	ErrBadMAC       Code = 11
	ErrBadZip       Code = 12
	ErrBadRealm     Code = 13
	ErrCredInvalid  Code = 14
	ErrCredExpired  Code = 15
	ErrCredRewound  Code = 16
	ErrCredReplayed Code = 17
	ErrUnauthorized Code = 18
)

// String returns munge_strerror's text for the code.
func (c Code) String() string {
	switch c {
	case Success:
		return "Success"
	case ErrSnafu:
		return "Internal error"
	case ErrBadArg:
		return "Invalid argument"
	case ErrBadLength:
		return "Exceeded maximum message length"
	case ErrOverflow:
		return "Buffer overflow"
	case ErrNoMemory:
		return "Out of memory"
	case ErrSocket:
		return "Socket communication error"
	case ErrTimeout:
		return "Socket timeout"
	case ErrBadCred:
		return "Invalid credential format"
	case ErrBadVersion:
		return "Invalid credential version"
	case ErrBadCipher:
		return "Invalid cipher type"
	case ErrBadMAC:
		return "Invalid MAC type"
	case ErrBadZip:
		return "Invalid compression type"
	case ErrBadRealm:
		return "Unrecognized security realm"
	case ErrCredInvalid:
		return "Invalid credential"
	case ErrCredExpired:
		return "Expired credential"
	case ErrCredRewound:
		return "Rewound credential"
	case ErrCredReplayed:
		return "Replayed credential"
	case ErrUnauthorized:
		return "Unauthorized credential decode"
	}
	return fmt.Sprintf("MUNGE error %d", uint8(c))
}

// Error is an error answered by munged.
type Error struct {
	Code Code
	Msg  string // munged's message; may be empty
}

// Error implements error.
func (e *Error) Error() string {
	if e.Msg == "" || e.Msg == e.Code.String() {
		return fmt.Sprintf("munge: %s (%d)", e.Code, uint8(e.Code))
	}
	return fmt.Sprintf("munge: %s (%d): %s", e.Code, uint8(e.Code), e.Msg)
}

// CodeOf returns the MUNGE error number in err's chain, or ErrSocket when err
// is another failure (munged unreachable, broken answer), Success when nil.
func CodeOf(err error) Code {
	if err == nil {
		return Success
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ErrSocket
}

// Credential is what a decoded credential says.
type Credential struct {
	UID, GID uint32 // of the process that encoded it
	Payload  []byte // data munged into it (nil when none)
	TTL      time.Duration
	Encoded  time.Time // when munged encoded it
	Decoded  time.Time // when munged decoded it
	Addr     net.IP    // the encoding host's address, when given
}

// Expires is when the credential stops being valid.
func (c Credential) Expires() time.Time { return c.Encoded.Add(c.TTL) }

// Client talks to one munged. The zero value uses DefaultSocket.
type Client struct {
	// Socket is munged's socket path (DefaultSocket when empty).
	Socket string
}

// FromEnv returns a client for $FAIRWAY_MUNGE_SOCKET, else DefaultSocket.
func FromEnv() Client {
	return Client{Socket: os.Getenv(EnvSocket)}
}

// Path is the socket the client talks to: Socket, else DefaultSocket.
func (c Client) Path() string { return c.socket() }

func (c Client) socket() string {
	if c.Socket == "" {
		return DefaultSocket
	}
	return c.Socket
}

// EncodeOptions tune Encode.
type EncodeOptions struct {
	// TTL is the credential's time-to-live; 0 uses munged's default (300 s),
	// and munged caps it at its --max-ttl.
	TTL time.Duration
}

// Encode asks munged for a credential of the calling process carrying
// payload (may be nil). The credential is the printable string munge(1)
// prints ("MUNGE:...:").
func (c Client) Encode(ctx context.Context, payload []byte, opts EncodeOptions) (string, error) {
	body := make([]byte, 0, 32+len(payload))
	body = append(body, cipherDefault, macDefault, zipNone, 0) // no realm
	body = binary.BigEndian.AppendUint32(body, uint32(opts.TTL/time.Second))
	body = binary.BigEndian.AppendUint32(body, anyID)
	body = binary.BigEndian.AppendUint32(body, anyID)
	body = binary.BigEndian.AppendUint32(body, uint32(len(payload)))
	body = append(body, payload...)
	rsp, err := c.exchange(ctx, typeEncReq, typeEncRsp, body)
	if err != nil {
		return "", fmt.Errorf("munge encode via %s: %w", c.socket(), err)
	}
	r := reader{b: rsp}
	code, msg := r.errorField()
	data := r.bytes32()
	if r.err != nil {
		return "", fmt.Errorf("munge encode via %s: malformed response: %w", c.socket(), r.err)
	}
	if code != Success {
		return "", &Error{Code: code, Msg: msg}
	}
	return string(bytes.TrimRight(data, "\x00")), nil
}

// Decode asks munged to decode cred. On failure the error is an *Error with
// munged's code; for expired, rewound and replayed credentials (whose
// contents munged could still verify) the returned Credential is filled in
// too, as libmunge does, but the credential must not be trusted.
func (c Client) Decode(ctx context.Context, cred string) (Credential, error) {
	if cred == "" {
		return Credential{}, &Error{Code: ErrBadArg, Msg: "no credential specified"}
	}
	body := make([]byte, 0, 5+len(cred))
	body = binary.BigEndian.AppendUint32(body, uint32(len(cred)+1))
	body = append(body, cred...)
	body = append(body, 0)
	rsp, err := c.exchange(ctx, typeDecReq, typeDecRsp, body)
	if err != nil {
		return Credential{}, fmt.Errorf("munge decode via %s: %w", c.socket(), err)
	}
	r := reader{b: rsp}
	code, msg := r.errorField()
	r.skip(3)           // cipher, mac, zip
	r.skip(int(r.u8())) // realm
	var out Credential
	out.TTL = time.Duration(r.u32()) * time.Second
	if addr := r.next(int(r.u8())); len(addr) > 0 {
		out.Addr = net.IP(bytes.Clone(addr))
	}
	out.Encoded = time.Unix(int64(r.u32()), 0)
	out.Decoded = time.Unix(int64(r.u32()), 0)
	out.UID = r.u32()
	out.GID = r.u32()
	r.u32() // auth_uid
	r.u32() // auth_gid
	if data := r.bytes32(); len(data) > 0 {
		out.Payload = bytes.Clone(data)
	}
	if r.err != nil {
		if code != Success {
			return Credential{}, &Error{Code: code, Msg: msg}
		}
		return Credential{}, fmt.Errorf("munge decode via %s: malformed response: %w", c.socket(), r.err)
	}
	if code != Success {
		return out, &Error{Code: code, Msg: msg}
	}
	return out, nil
}

// exchange sends one request and returns the response body. Only the
// connection is retried (munged busy: ECONNREFUSED), never a request that was
// sent: a decode sent twice would be a replay.
func (c Client) exchange(ctx context.Context, reqType, rspType byte, body []byte) ([]byte, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultTimeout)
		defer cancel()
	}
	var d net.Dialer
	var conn net.Conn
	var err error
	for attempt := 1; ; attempt++ {
		conn, err = d.DialContext(ctx, "unix", c.socket())
		if err == nil || attempt == 5 || ctx.Err() != nil || !isRefused(err) {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(attempt) * 50 * time.Millisecond):
		}
	}
	if err != nil {
		return nil, fmt.Errorf("connect (is munged running?): %w", err)
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	if err := conn.SetDeadline(deadline); err != nil {
		return nil, fmt.Errorf("set deadline: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()

	msg := make([]byte, 0, hdrSize+len(body))
	msg = appendHeader(msg, reqType, len(body))
	msg = append(msg, body...)
	if _, err := conn.Write(msg); err != nil {
		return nil, fmt.Errorf("send request: %w", err)
	}
	var hdr [hdrSize]byte
	if _, err := io.ReadFull(conn, hdr[:]); err != nil {
		return nil, fmt.Errorf("read response header: %w", err)
	}
	if m := binary.BigEndian.Uint32(hdr[0:4]); m != msgMagic {
		return nil, fmt.Errorf("response has magic %#x, want %#x: not munged?", m, msgMagic)
	}
	if v := hdr[4]; v != msgVersion {
		return nil, fmt.Errorf("munged speaks message version %d, this client %d", v, msgVersion)
	}
	if t := hdr[5]; t != rspType {
		return nil, fmt.Errorf("response type %d, want %d", t, rspType)
	}
	n := binary.BigEndian.Uint32(hdr[7:11])
	if n > maxMsg {
		return nil, fmt.Errorf("response of %d bytes exceeds %d", n, maxMsg)
	}
	rsp := make([]byte, n)
	if _, err := io.ReadFull(conn, rsp); err != nil {
		return nil, fmt.Errorf("read response body: %w", err)
	}
	return rsp, nil
}

// appendHeader appends a message header for a body of n bytes.
func appendHeader(b []byte, typ byte, n int) []byte {
	b = binary.BigEndian.AppendUint32(b, msgMagic)
	b = append(b, msgVersion, typ, 0) // retry 0
	return binary.BigEndian.AppendUint32(b, uint32(n))
}

func isRefused(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EAGAIN)
}

// reader reads big-endian fields from a message body, remembering the first
// short read.
type reader struct {
	b   []byte
	err error
}

func (r *reader) next(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b) {
		r.err = fmt.Errorf("truncated: want %d more bytes, have %d", n, len(r.b))
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) skip(n int) { r.next(n) }

func (r *reader) u8() uint8 {
	if b := r.next(1); b != nil {
		return b[0]
	}
	return 0
}

func (r *reader) u32() uint32 {
	if b := r.next(4); b != nil {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}

func (r *reader) bytes32() []byte { return r.next(int(r.u32())) }

// errorField reads error u8, error_len u8 and the NUL-terminated message.
func (r *reader) errorField() (Code, string) {
	code := Code(r.u8())
	msg := r.next(int(r.u8()))
	return code, string(bytes.TrimRight(msg, "\x00"))
}
