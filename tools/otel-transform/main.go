// otel-transform: the OpenTelemetry Collector's transform processor (collector-contrib
// processor/transformprocessor, the code Alloy's otelcol.processor.transform runs) applied to one OTLP/HTTP
// export request, so the tests see spans and logs as Alloy hands them on, not as the SDK sent them.
// A test oracle: it reads one request on stdin and writes the transformed request on stdout; it serves nothing.
// Pinned to collector-contrib v0.158.0, the release in the go.mod of Alloy's main branch of 2026-08-21 (the
// newest Alloy source read for this; the stack runs Alloy v1.21.2 from .env), transformprocessor/factory.go there.
//
//	otel-transform -signal traces|logs -config '<JSON of the processor config>' [-json] < request > request
//
// -config is the processor's configuration as the collector reads it (error_mode, trace_statements,
// log_statements, each a list of {context, statements}), e.g. what stack/alloy/config.alloy's
// otelcol.processor.transform block says. The body is plain protobuf (or OTLP JSON with -json), not compressed.
// Exit 1 with a one-line error on a bad config or body.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/open-telemetry/opentelemetry-collector-contrib/processor/transformprocessor"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/collector/processor/processortest"
)

func main() {
	signal := flag.String("signal", "", "traces or logs")
	config := flag.String("config", "", "the transform processor's config as JSON")
	asJSON := flag.Bool("json", false, "the body is OTLP JSON, not protobuf")
	flag.Parse()
	if err := run(*signal, *config, *asJSON, os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "otel-transform:", err)
		os.Exit(1)
	}
}

// codec is the part of an OTLP export request both signals share.
type codec interface {
	UnmarshalProto([]byte) error
	UnmarshalJSON([]byte) error
	MarshalProto() ([]byte, error)
	MarshalJSON() ([]byte, error)
}

// oneBatch runs one batch through a processor as the collector does over its life: start, consume, shut down.
func oneBatch(ctx context.Context, p component.Component, consume func() error) error {
	if err := p.Start(ctx, componenttest.NewNopHost()); err != nil {
		return err
	}
	if err := consume(); err != nil {
		return err
	}
	return p.Shutdown(ctx)
}

func run(signal, config string, asJSON bool, in io.Reader, out io.Writer) error {
	var settings map[string]any
	if err := json.Unmarshal([]byte(config), &settings); err != nil {
		return fmt.Errorf("-config: %w", err)
	}
	factory := transformprocessor.NewFactory()
	cfg := factory.CreateDefaultConfig()
	if err := confmap.NewFromStringMap(settings).Unmarshal(cfg); err != nil {
		return fmt.Errorf("-config: %w", err)
	}
	body, err := io.ReadAll(in)
	if err != nil {
		return err
	}
	ctx := context.Background()
	set := processortest.NewNopSettings(factory.Type())
	var req codec
	var consume func() (codec, error)
	switch signal {
	case "traces":
		r := ptraceotlp.NewExportRequest()
		req = &r
		sink := new(consumertest.TracesSink)
		consume = func() (codec, error) {
			p, err := factory.CreateTraces(ctx, set, cfg, sink)
			if err == nil {
				err = oneBatch(ctx, p, func() error { return p.ConsumeTraces(ctx, r.Traces()) })
			}
			if err != nil {
				return nil, err
			}
			if len(sink.AllTraces()) != 1 {
				return nil, errors.New("the processor passed on no traces")
			}
			res := ptraceotlp.NewExportRequestFromTraces(sink.AllTraces()[0])
			return &res, nil
		}
	case "logs":
		r := plogotlp.NewExportRequest()
		req = &r
		sink := new(consumertest.LogsSink)
		consume = func() (codec, error) {
			p, err := factory.CreateLogs(ctx, set, cfg, sink)
			if err == nil {
				err = oneBatch(ctx, p, func() error { return p.ConsumeLogs(ctx, r.Logs()) })
			}
			if err != nil {
				return nil, err
			}
			if len(sink.AllLogs()) != 1 {
				return nil, errors.New("the processor passed on no logs")
			}
			res := plogotlp.NewExportRequestFromLogs(sink.AllLogs()[0])
			return &res, nil
		}
	default:
		return fmt.Errorf("-signal must be traces or logs, not %q", signal)
	}
	if asJSON {
		err = req.UnmarshalJSON(body)
	} else {
		err = req.UnmarshalProto(body)
	}
	if err != nil {
		return fmt.Errorf("the request body: %w", err)
	}
	res, err := consume()
	if err != nil {
		return err
	}
	var b []byte
	if asJSON {
		b, err = res.MarshalJSON()
	} else {
		b, err = res.MarshalProto()
	}
	if err != nil {
		return err
	}
	_, err = out.Write(b)
	return err
}
