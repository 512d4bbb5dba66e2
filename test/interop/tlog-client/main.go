// tlog-client follows dzl's evidence log over HTTP as any C2SP client would, with nothing of
// dzl's code: it fetches the checkpoint, checks the router's signed-note signature with the
// router's vkey and pins the origin, fetches hash tiles (c2sp.org/tlog-tiles), recomputes the
// root from the leaf hashes, proves and checks a leaf's inclusion and the consistency of an
// older checkpoint, and checks the router's own proofs with transparency-dev/merkle.
//
// Exit 0 when every check passes, 1 when one fails, 2 on bad arguments.
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type checkpoint struct {
	origin string
	tree   tlog.Tree
}

type report struct {
	Origin string   `json:"origin"`
	Size   int64    `json:"size"`
	Root   string   `json:"root"`
	Tiles  int      `json:"tilesFetched"`
	Checks []string `json:"checks"`
}

var client = &http.Client{Timeout: 10 * time.Second}

func get(base, path string) ([]byte, error) {
	resp, err := client.Get(strings.TrimSuffix(base, "/") + "/" + path)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return body, nil
}

// openCheckpoint verifies the note's signature by the pinned key and reads the C2SP checkpoint body.
func openCheckpoint(text []byte, verifier note.Verifier, origin string) (checkpoint, error) {
	n, err := note.Open(text, note.VerifierList(verifier))
	if err != nil {
		return checkpoint{}, fmt.Errorf("checkpoint signature: %w", err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 || lines[len(lines)-1] != "" {
		return checkpoint{}, errors.New("checkpoint body is not origin, size, root hash")
	}
	if lines[0] != origin {
		return checkpoint{}, fmt.Errorf("checkpoint origin %q, pinned %q", lines[0], origin)
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != lines[1] {
		return checkpoint{}, fmt.Errorf("checkpoint size %q", lines[1])
	}
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != tlog.HashSize {
		return checkpoint{}, fmt.Errorf("checkpoint root %q", lines[2])
	}
	var h tlog.Hash
	copy(h[:], root)
	return checkpoint{origin: lines[0], tree: tlog.Tree{N: size, Hash: h}}, nil
}

// tileReader fetches C2SP tiles: tlog's sumdb paths carry the tile height ("tile/8/L/N"), which
// C2SP tlog-tiles fixes at 8 and leaves out ("tile/L/N").
type tileReader struct {
	base    string
	fetched int
}

func (r *tileReader) Height() int { return 8 }

func c2spPath(t tlog.Tile) string {
	return strings.Replace(t.Path(), "tile/8/", "tile/", 1)
}

func (r *tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		data, err := get(r.base, c2spPath(t))
		if err != nil {
			return nil, err
		}
		if len(data) != t.W*tlog.HashSize {
			return nil, fmt.Errorf("%s: %d bytes, want %d", c2spPath(t), len(data), t.W*tlog.HashSize)
		}
		r.fetched++
		out[i] = data
	}
	return out, nil
}

func (r *tileReader) SaveTiles([]tlog.Tile, [][]byte) {}

// leafHashes reads every leaf hash of the tree from its level-0 tiles.
func leafHashes(r *tileReader, size int64) ([][]byte, error) {
	var out [][]byte
	for n := int64(0); n*256 < size; n++ {
		w := size - n*256
		if w > 256 {
			w = 256
		}
		data, err := r.ReadTiles([]tlog.Tile{{H: 8, L: 0, N: n, W: int(w)}})
		if err != nil {
			return nil, err
		}
		for i := 0; i < int(w); i++ {
			out = append(out, data[0][i*32:(i+1)*32])
		}
	}
	return out, nil
}

func decodeList(s string) ([][]byte, error) {
	if s == "" {
		return nil, nil
	}
	var out [][]byte
	for _, p := range strings.Split(s, ",") {
		b, err := base64.RawURLEncoding.DecodeString(p)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

func run() (report, error) {
	var (
		base        = flag.String("log", "", "the log's URL prefix (…/log/)")
		vkey        = flag.String("vkey", "", "the router's note verifier key")
		origin      = flag.String("origin", "", "the log's origin line")
		oldFile     = flag.String("old", "", "an earlier checkpoint (signed note) to prove consistent with the latest")
		leafIndex   = flag.Int64("leaf-index", -1, "a leaf to prove included")
		leafData    = flag.String("leaf-data", "", "base64url of that leaf's bytes")
		leafProof   = flag.String("leaf-proof", "", "the router's inclusion proof for it, comma-separated base64url hashes")
		proofSize   = flag.Int64("proof-size", 0, "the tree size the router's inclusion proof is for")
		consistency = flag.String("consistency-proof", "", "the router's consistency proof from -old to the latest checkpoint")
	)
	flag.Parse()
	var rep report
	if *base == "" || *vkey == "" || *origin == "" {
		flag.Usage()
		os.Exit(2)
	}
	verifier, err := note.NewVerifier(*vkey)
	if err != nil {
		return rep, fmt.Errorf("vkey: %w", err)
	}
	text, err := get(*base, "checkpoint")
	if err != nil {
		return rep, err
	}
	latest, err := openCheckpoint(text, verifier, *origin)
	if err != nil {
		return rep, err
	}
	rep.Origin, rep.Size, rep.Root = latest.origin, latest.tree.N, base64.StdEncoding.EncodeToString(latest.tree.Hash[:])
	rep.Checks = append(rep.Checks, "checkpoint signed by the router's key, origin pinned")

	tiles := &tileReader{base: *base}
	// every tile read through it is checked against the checkpoint's root
	hashes := tlog.TileHashReader(latest.tree, tiles)

	// the root recomputed from all leaf hashes, with transparency-dev/merkle's compact range
	leaves, err := leafHashes(tiles, latest.tree.N)
	if err != nil {
		return rep, err
	}
	cr := (&compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}).NewEmptyRange(0)
	for _, h := range leaves {
		if err := cr.Append(h, nil); err != nil {
			return rep, err
		}
	}
	root, err := cr.GetRootHash(nil)
	if err != nil {
		return rep, err
	}
	if latest.tree.N == 0 {
		root = rfc6962.DefaultHasher.EmptyRoot()
	}
	if !bytes.Equal(root, latest.tree.Hash[:]) {
		return rep, fmt.Errorf("the %d leaf hashes of the level-0 tiles give root %x, the checkpoint says %x", latest.tree.N, root, latest.tree.Hash[:])
	}
	rep.Checks = append(rep.Checks, fmt.Sprintf("root recomputed from the %d leaf hashes of the tiles", len(leaves)))
	if th, err := tlog.TreeHash(latest.tree.N, hashes); err != nil || th != latest.tree.Hash {
		return rep, fmt.Errorf("tlog.TreeHash over the tiles: %v", err)
	}
	rep.Checks = append(rep.Checks, "tlog.TreeHash over the higher-level tiles agrees")

	if *leafIndex >= 0 {
		data, err := base64.RawURLEncoding.DecodeString(*leafData)
		if err != nil {
			return rep, fmt.Errorf("leaf data: %w", err)
		}
		leafHash := rfc6962.DefaultHasher.HashLeaf(data)
		if rh := tlog.RecordHash(data); !bytes.Equal(rh[:], leafHash) {
			return rep, errors.New("tlog.RecordHash and RFC 6962 HashLeaf disagree")
		}
		if *leafIndex >= latest.tree.N || !bytes.Equal(leaves[*leafIndex], leafHash) {
			return rep, fmt.Errorf("leaf %d: its hash is not the tile's entry", *leafIndex)
		}
		p, err := tlog.ProveRecord(latest.tree.N, *leafIndex, hashes)
		if err != nil {
			return rep, fmt.Errorf("tlog.ProveRecord: %w", err)
		}
		var lh tlog.Hash
		copy(lh[:], leafHash)
		if err := tlog.CheckRecord(p, latest.tree.N, latest.tree.Hash, *leafIndex, lh); err != nil {
			return rep, fmt.Errorf("tlog.CheckRecord: %w", err)
		}
		rep.Checks = append(rep.Checks, fmt.Sprintf("leaf %d proven included from the tiles (tlog.ProveRecord, CheckRecord)", *leafIndex))
		if *leafProof != "" || *proofSize > 0 {
			routerProof, err := decodeList(*leafProof)
			if err != nil {
				return rep, fmt.Errorf("leaf proof: %w", err)
			}
			at, err := tlog.TreeHash(*proofSize, hashes)
			if err != nil {
				return rep, fmt.Errorf("root at %d: %w", *proofSize, err)
			}
			if err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(*leafIndex), uint64(*proofSize), leafHash, routerProof, at[:]); err != nil {
				return rep, fmt.Errorf("the router's inclusion proof: %w", err)
			}
			rep.Checks = append(rep.Checks, fmt.Sprintf("the router's inclusion proof of leaf %d in tree %d verifies (transparency-dev/merkle)", *leafIndex, *proofSize))
		}
	}

	if *oldFile != "" {
		oldText, err := os.ReadFile(*oldFile)
		if err != nil {
			return rep, err
		}
		old, err := openCheckpoint(oldText, verifier, *origin)
		if err != nil {
			return rep, fmt.Errorf("old %w", err)
		}
		p, err := tlog.ProveTree(latest.tree.N, old.tree.N, hashes)
		if err != nil {
			return rep, fmt.Errorf("tlog.ProveTree: %w", err)
		}
		if err := tlog.CheckTree(p, latest.tree.N, latest.tree.Hash, old.tree.N, old.tree.Hash); err != nil {
			return rep, fmt.Errorf("tlog.CheckTree %d → %d: %w", old.tree.N, latest.tree.N, err)
		}
		rep.Checks = append(rep.Checks, fmt.Sprintf("checkpoint %d is a prefix of %d (tlog.ProveTree from the tiles, CheckTree)", old.tree.N, latest.tree.N))
		if *consistency != "" || old.tree.N != latest.tree.N {
			routerProof, err := decodeList(*consistency)
			if err != nil {
				return rep, fmt.Errorf("consistency proof: %w", err)
			}
			if err := proof.VerifyConsistency(rfc6962.DefaultHasher, uint64(old.tree.N), uint64(latest.tree.N), routerProof, old.tree.Hash[:], latest.tree.Hash[:]); err != nil {
				return rep, fmt.Errorf("the router's consistency proof %d → %d: %w", old.tree.N, latest.tree.N, err)
			}
			rep.Checks = append(rep.Checks, fmt.Sprintf("the router's consistency proof %d → %d verifies (transparency-dev/merkle)", old.tree.N, latest.tree.N))
		}
	}
	rep.Tiles = tiles.fetched
	return rep, nil
}

func main() {
	rep, err := run()
	out, _ := json.Marshal(rep)
	fmt.Println(string(out))
	if err != nil {
		fmt.Fprintln(os.Stderr, "tlog-client:", err)
		os.Exit(1)
	}
}
