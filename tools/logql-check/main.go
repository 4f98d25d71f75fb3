// logql-check runs Loki v3.7.6's own Go code on data, as a test oracle for the provisioned
// "Logs for this span" query (stack/grafana/provisioning/datasources/datasources.yaml). It is
// not Loki and not a server: it stores nothing, indexes nothing and answers no HTTP API. It only
// calls two of Loki's library functions, so that the tests check our LogQL against what Loki
// itself does instead of against our reading of Loki's docs:
//
//	logql-check otlp -loki-config stack/loki/loki.yaml < requests.json > streams.json
//	  Captured OTLP/HTTP log requests (the bytes an SDK sent, protobuf or JSON, maybe gzip'd) are
//	  turned into Loki streams by push.ParseOTLPRequest (pkg/loghttp/push/otlp.go at v3.7.6), the
//	  function Loki's /otlp/v1/logs handler calls, with the limits of the given loki.yaml: the
//	  limits_config section over Loki's flag defaults, then the global default index labels applied
//	  as cmd/loki/main.go does (SetGlobalOTLPConfig, pkg/validation/limits.go). So stream labels,
//	  structured metadata and line are what Loki's push parsing produces. Not included: what
//	  Loki's distributor adds later (detected_level, line truncation, rate limits); none of it
//	  touches trace_id or the line.
//	  stdin: [{"contentType": "application/x-protobuf", "contentEncoding": "gzip", "body": "<base64>"}]
//
//	logql-check query -query '<LogQL log query>' < streams.json > entries.json
//	  The query is parsed by syntax.ParseLogSelector (pkg/logql/syntax/parser.go); a stream is
//	  selected when its labels match the selector's matchers (what Loki's index does), and each
//	  entry goes through the query's pipeline, expr.Pipeline().ForStream(labels).Process(ts, line,
//	  structuredMetadata) (pkg/logql/log/pipeline.go), as Loki's chunk iterator calls it
//	  (pkg/chunkenc/memchunk.go). Prints the entries that pass, in input order, with the line as
//	  the pipeline returned it.
//
// streams.json, written by `otlp` and read by `query`:
//
//	[{"labels": {"job": "demo-app"}, "entries": [{"ts": "<unix ns>", "line": "...", "structuredMetadata": {"trace_id": "..."}}]}]
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"time"

	"github.com/go-kit/log"
	"github.com/grafana/loki/v3/pkg/loghttp/push"
	"github.com/grafana/loki/v3/pkg/logproto"
	"github.com/grafana/loki/v3/pkg/logql/syntax"
	"github.com/grafana/loki/v3/pkg/validation"
	"github.com/prometheus/prometheus/model/labels"
	"gopkg.in/yaml.v2"
)

type capturedRequest struct {
	ContentType     string `json:"contentType"`
	ContentEncoding string `json:"contentEncoding"`
	Body            []byte `json:"body"` // base64 in JSON
}

type entry struct {
	Ts                 string            `json:"ts"`
	Line               string            `json:"line"`
	StructuredMetadata map[string]string `json:"structuredMetadata"`
}

type stream struct {
	Labels  map[string]string `json:"labels"`
	Entries []entry           `json:"entries"`
}

type matchedEntry struct {
	Labels map[string]string `json:"labels"`
	entry
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	flags := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	var err error
	switch os.Args[1] {
	case "otlp":
		config := flags.String("loki-config", "", "Loki's config file, whose limits_config.otlp_config is applied")
		_ = flags.Parse(os.Args[2:])
		if *config == "" {
			usage()
		}
		err = otlpToStreams(*config, os.Stdin, os.Stdout)
	case "query":
		query := flags.String("query", "", "a LogQL log query")
		_ = flags.Parse(os.Args[2:])
		if *query == "" {
			usage()
		}
		err = runQuery(*query, os.Stdin, os.Stdout)
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "logql-check:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: logql-check otlp -loki-config <loki.yaml> < requests.json | logql-check query -query '<LogQL>' < streams.json")
	os.Exit(2)
}

// lokiLimits reads the limits Loki would run with: its flag defaults, then the config file's
// limits_config and distributor.otlp_config, then the global OTLP index labels (cmd/loki/main.go).
func lokiLimits(file string) (*validation.Overrides, error) {
	var config struct {
		Limits      validation.Limits `yaml:"limits_config"`
		Distributor struct {
			OTLP push.GlobalOTLPConfig `yaml:"otlp_config"`
		} `yaml:"distributor"`
	}
	defaults := flag.NewFlagSet("loki", flag.ContinueOnError)
	config.Limits.RegisterFlags(defaults)
	config.Distributor.OTLP.RegisterFlags(defaults)
	text, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	if err := yaml.Unmarshal(text, &config); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if err := config.Limits.Validate(); err != nil {
		return nil, fmt.Errorf("%s: limits_config: %w", file, err)
	}
	config.Limits.SetGlobalOTLPConfig(config.Distributor.OTLP)
	return validation.NewOverrides(config.Limits, nil)
}

// noRetention answers ParseOTLPRequest's per-stream retention questions; they only feed its usage statistics.
type noRetention struct{}

func (noRetention) RetentionPeriodFor(labels.Labels) time.Duration  { return 0 }
func (noRetention) RetentionHoursFor(labels.Labels) string          { return "" }
func (noRetention) PolicyFor(context.Context, labels.Labels) string { return "" }

func otlpToStreams(configFile string, in io.Reader, out io.Writer) error {
	limits, err := lokiLimits(configFile)
	if err != nil {
		return err
	}
	var requests []capturedRequest
	if err := json.NewDecoder(in).Decode(&requests); err != nil {
		return fmt.Errorf("reading the captured requests: %w", err)
	}
	byLabels := map[string]*stream{}
	for i, r := range requests {
		req, err := http.NewRequest(http.MethodPost, "/otlp/v1/logs", bytes.NewReader(r.Body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", r.ContentType)
		if r.ContentEncoding != "" {
			req.Header.Set("Content-Encoding", r.ContentEncoding)
		}
		pushed, _, err := push.ParseOTLPRequest("fake", req, limits, nil, 0, 0, nil, noRetention{}, log.NewNopLogger())
		if err != nil {
			return fmt.Errorf("request %d: Loki's OTLP parser refused it: %w", i, err)
		}
		for _, s := range pushed.Streams {
			lbls, err := syntax.ParseLabels(s.Labels)
			if err != nil {
				return fmt.Errorf("request %d: stream %s: %w", i, s.Labels, err)
			}
			key := lbls.String()
			if byLabels[key] == nil {
				byLabels[key] = &stream{Labels: lbls.Map(), Entries: []entry{}}
			}
			for _, e := range s.Entries {
				byLabels[key].Entries = append(byLabels[key].Entries, entry{
					Ts:                 strconv.FormatInt(e.Timestamp.UnixNano(), 10),
					Line:               e.Line,
					StructuredMetadata: logproto.FromLabelAdaptersToLabels(e.StructuredMetadata).Map(),
				})
			}
		}
	}
	keys := make([]string, 0, len(byLabels))
	for k := range byLabels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	streams := make([]*stream, 0, len(keys))
	for _, k := range keys {
		streams = append(streams, byLabels[k])
	}
	return json.NewEncoder(out).Encode(streams)
}

func runQuery(query string, in io.Reader, out io.Writer) error {
	expr, err := syntax.ParseLogSelector(query, true)
	if err != nil {
		return fmt.Errorf("Loki's parser refused the query: %w", err)
	}
	pipeline, err := expr.Pipeline()
	if err != nil {
		return fmt.Errorf("the query's pipeline: %w", err)
	}
	var streams []stream
	if err := json.NewDecoder(in).Decode(&streams); err != nil {
		return fmt.Errorf("reading the streams: %w", err)
	}
	matched := []matchedEntry{}
	for _, s := range streams {
		lbls := labels.FromMap(s.Labels)
		if !selects(expr.Matchers(), lbls) {
			continue
		}
		sp := pipeline.ForStream(lbls)
		for _, e := range s.Entries {
			ts, err := strconv.ParseInt(e.Ts, 10, 64)
			if err != nil {
				return fmt.Errorf("entry timestamp %q: %w", e.Ts, err)
			}
			line, _, ok := sp.Process(ts, []byte(e.Line), labels.FromMap(e.StructuredMetadata))
			if ok {
				matched = append(matched, matchedEntry{Labels: s.Labels, entry: entry{Ts: e.Ts, Line: string(line), StructuredMetadata: e.StructuredMetadata}})
			}
		}
	}
	return json.NewEncoder(out).Encode(matched)
}

func selects(matchers []*labels.Matcher, lbls labels.Labels) bool {
	for _, m := range matchers {
		if !m.Matches(lbls.Get(m.Name)) {
			return false
		}
	}
	return true
}
