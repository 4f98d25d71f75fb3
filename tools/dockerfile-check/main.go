// dockerfile-check checks an app's Dockerfile the way BuildKit reads it, without a Docker engine:
//
//   - the Dockerfile parses (BuildKit's parser) and passes every build check that `docker build --check` runs
//     (BuildKit's dockerfile2llb.DockerfileLint, the linter rules in frontend/dockerfile/linter);
//   - every COPY/ADD source exists in the build context after .dockerignore, matched with
//     moby/patternmatcher as BuildKit's context transfer matches it;
//   - every COPY --from names an earlier stage;
//   - ENTRYPOINT and CMD use the exec (JSON) form, so the app is PID 1 and gets SIGTERM;
//   - the final stage sets a non-root USER.
//
// Usage: dockerfile-check <context dir>... (each holding a Dockerfile and maybe a .dockerignore).
// Every finding is one line, `<Dockerfile>:<line>: <what is wrong>. Fix: <what to do>`; exit 1 when there is any.
//
// `dockerfile-check -image-config <context dir>` prints the config of the image the Dockerfile builds, as
// BuildKit computes it (JSON: Env, Entrypoint, Cmd, WorkingDir, User), for the tests that start the apps with it.
//
// Base images are never pulled (no registry is needed): each is answered as an empty image config for the
// requested platform, so the checks that look into a base image (UndefinedVar for a variable only the base image
// defines) see only what the Dockerfile itself defines, and report such a variable rather than pass it.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

func main() {
	if len(os.Args) == 3 && os.Args[1] == "-image-config" {
		if err := printImageConfig(os.Args[2]); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", os.Args[2], err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) < 2 || strings.HasPrefix(os.Args[1], "-") {
		fmt.Fprintln(os.Stderr, "usage: dockerfile-check <build context dir>... | dockerfile-check -image-config <build context dir>")
		os.Exit(2)
	}
	var findings []issue
	for _, dir := range os.Args[1:] {
		f, err := checkContext(dir)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", dir, err)
			os.Exit(2)
		}
		findings = append(findings, f...)
	}
	for _, f := range findings {
		fmt.Println(f)
	}
	if len(findings) > 0 {
		os.Exit(1)
	}
}

// issue is one problem at a line of a Dockerfile, and how to fix it.
type issue struct {
	file         string
	line         int
	problem, fix string
}

func (i issue) String() string {
	return fmt.Sprintf("%s:%d: %s. Fix: %s", i.file, i.line, i.problem, i.fix)
}

func finding(file string, line int, problem, fix string) issue {
	return issue{file, line, problem, fix}
}

func checkContext(dir string) ([]issue, error) {
	file := filepath.Join(dir, "Dockerfile")
	dt, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	ast, err := parser.Parse(bytes.NewReader(dt))
	if err != nil {
		return []issue{finding(file, lineOf(err), "does not parse: "+err.Error(), "write it as the Dockerfile reference describes")}, nil
	}
	findings, refused, err := buildChecks(file, dt)
	if err != nil || refused {
		return findings, err
	}
	if skip := skippedChecks(dt); skip != "" {
		findings = append(findings, finding(file, 1, "the check directive `"+skip+"` turns build checks off", "remove it and fix what the checks report"))
	}
	// BuildKit accepted it (above), so this parse succeeds and yields at least one stage.
	stages, _, err := instructions.Parse(ast.AST, nil)
	if err != nil {
		return nil, err
	}
	ctx, err := loadContext(dir)
	if err != nil {
		return nil, err
	}
	findings = append(findings, checkSources(file, stages, ctx)...)
	findings = append(findings, checkStartCommands(file, stages)...)
	findings = append(findings, checkFinalUser(file, stages[len(stages)-1])...)
	sort.SliceStable(findings, func(i, j int) bool { return findings[i].line < findings[j].line })
	return findings, nil
}

// buildChecks runs BuildKit's build checks, the rules `docker build --check` runs, over every stage.
// refused: BuildKit could not turn the Dockerfile into a build at all (the finding says why).
func buildChecks(file string, dt []byte) (findings []issue, refused bool, err error) {
	// The lint results name their source by an LLB definition, as the Dockerfile frontend's does: a local source.
	source := llb.Local("dockerfile")
	sourceMap := llb.NewSourceMap(&source, file, "Dockerfile", dt)
	if sourceMap.Definition, err = source.Marshal(context.Background()); err != nil {
		return nil, false, err
	}
	results, err := dockerfile2llb.DockerfileLint(context.Background(), dt, dockerfile2llb.ConvertOpt{
		SourceMap:    sourceMap,
		MetaResolver: emptyBaseImages{},
	})
	if err != nil {
		return nil, false, err
	}
	for _, w := range results.Warnings {
		line := 1
		if w.Location != nil && len(w.Location.Ranges) > 0 {
			line = int(w.Location.Ranges[0].Start.Line)
		}
		findings = append(findings, finding(file, line, fmt.Sprintf("build check %s: %s", w.RuleName, w.Detail), fmt.Sprintf("%s, see %s", strings.TrimSuffix(w.Description, "."), w.URL)))
	}
	if results.Error != nil {
		line := 1
		if len(results.Error.Location.Ranges) > 0 {
			line = int(results.Error.Location.Ranges[0].Start.Line)
		}
		findings = append(findings, finding(file, line, "BuildKit refuses it: "+results.Error.Message, "correct the instruction at that line"))
	}
	return findings, results.Error != nil, nil
}

// printImageConfig prints the runtime config of the image the context's Dockerfile builds (its last stage), as
// BuildKit's Dockerfile frontend computes it: ENV (with PATH, which BuildKit always sets), ENTRYPOINT, CMD, WORKDIR,
// USER. What the base images themselves set is not known here (see emptyBaseImages).
func printImageConfig(dir string) error {
	dt, err := os.ReadFile(filepath.Join(dir, "Dockerfile"))
	if err != nil {
		return err
	}
	result, err := dockerfile2llb.Dockerfile2LLB(context.Background(), dt, dockerfile2llb.ConvertOpt{MetaResolver: emptyBaseImages{}})
	if err != nil {
		return err
	}
	c := result.Image.Config
	out, err := json.MarshalIndent(map[string]any{"Env": c.Env, "Entrypoint": c.Entrypoint, "Cmd": c.Cmd, "WorkingDir": c.WorkingDir, "User": c.User}, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Println(string(out))
	return err
}

// emptyBaseImages answers every base image with an empty config for the platform asked for: base images are not
// pulled here, so only the Dockerfile's own definitions are known to the checks.
type emptyBaseImages struct{}

func (emptyBaseImages) ResolveImageConfig(_ context.Context, ref string, opt sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	var platform ocispecs.Platform
	if opt.ImageOpt != nil && opt.ImageOpt.Platform != nil {
		platform = *opt.ImageOpt.Platform
	}
	config, err := json.Marshal(ocispecs.Image{Platform: platform})
	return ref, "", config, err
}

// skippedChecks is the `# check=` directive when it skips rules or ignores a failing check, else "".
func skippedChecks(dt []byte) string {
	value, _, _, ok := parser.ParseDirective("check", dt)
	if !ok || !strings.Contains(value, "skip=") {
		return ""
	}
	return "check=" + value
}

// buildContext is what the builder receives: the context's files and folders that .dockerignore leaves in
// (slash-separated, relative), and the ones it takes out.
type buildContext struct {
	included map[string]bool
	excluded map[string]bool
}

func loadContext(dir string) (*buildContext, error) {
	var patterns []string
	if f, err := os.Open(filepath.Join(dir, ".dockerignore")); err == nil {
		patterns, err = ignorefile.ReadAll(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf(".dockerignore: %w", err)
		}
	} else if !os.IsNotExist(err) {
		return nil, err
	}
	matcher, err := patternmatcher.New(patterns)
	if err != nil {
		return nil, fmt.Errorf(".dockerignore: %w", err)
	}
	ctx := &buildContext{included: map[string]bool{}, excluded: map[string]bool{}}
	parents := map[string]patternmatcher.MatchInfo{}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if rel == "." {
			return nil
		}
		// The same walk as BuildKit's context transfer: each path matched with its parent folder's result, so a
		// `!pattern` can bring back a file inside an excluded folder.
		excluded, info, err := matcher.MatchesUsingParentResults(rel, parents[path.Dir(rel)])
		if err != nil {
			return err
		}
		if d.IsDir() {
			parents[rel] = info
		}
		if excluded {
			ctx.excluded[rel] = true
		} else {
			ctx.included[rel] = true
		}
		return nil
	})
	return ctx, err
}

// status says whether a COPY/ADD source (a path or a glob, relative to the context) is sent to the builder:
// "" when it is, else what is wrong with it.
func (c *buildContext) status(source string) string {
	source = strings.TrimPrefix(path.Clean("/"+filepath.ToSlash(source)), "/")
	if source == "" {
		return "" // the whole context
	}
	matchesIn := func(set map[string]bool) bool {
		for p := range set {
			// a glob matches a path at its own depth; a folder counts when something inside it is in the set
			if ok, _ := path.Match(source, p); ok || strings.HasPrefix(p, source+"/") {
				return true
			}
		}
		return false
	}
	if matchesIn(c.included) {
		return ""
	}
	if matchesIn(c.excluded) {
		return "excluded by .dockerignore"
	}
	return "not in the build context"
}

func checkSources(file string, stages []instructions.Stage, ctx *buildContext) []issue {
	var findings []issue
	for i, st := range stages {
		for _, cmd := range st.Commands {
			line := cmd.Location()[0].Start.Line
			var sources []string
			switch c := cmd.(type) {
			case *instructions.CopyCommand:
				if c.From != "" {
					if !earlierStage(stages[:i], c.From) {
						findings = append(findings, finding(file, line, fmt.Sprintf("COPY --from=%s names no earlier stage", c.From),
							"build it in a stage above (FROM <image> AS "+c.From+") or use the name of one"))
					}
					continue
				}
				sources = c.SourcePaths
			case *instructions.AddCommand:
				for _, s := range c.SourcePaths {
					if !remote(s) {
						sources = append(sources, s)
					}
				}
			}
			for _, s := range sources {
				if strings.Contains(s, "$") {
					findings = append(findings, finding(file, line, fmt.Sprintf("%s source %s uses a variable, so its presence cannot be checked", cmd.Name(), s),
						"name the path literally"))
					continue
				}
				if problem := ctx.status(s); problem != "" {
					fix := "add it to the build context (" + filepath.Dir(file) + ") or correct the path"
					if problem == "excluded by .dockerignore" {
						fix = "remove the .dockerignore pattern that excludes it, or add !" + strings.TrimPrefix(s, "./") + " after it"
					}
					findings = append(findings, finding(file, line, fmt.Sprintf("%s source %s is %s", strings.ToUpper(cmd.Name()), s, problem), fix))
				}
			}
		}
	}
	return findings
}

func remote(source string) bool {
	for _, prefix := range []string{"http://", "https://", "git@", "git://"} {
		if strings.HasPrefix(source, prefix) {
			return true
		}
	}
	return false
}

// earlierStage: `from` is the name (case-insensitive, as BuildKit compares them) or index of one of these stages.
func earlierStage(earlier []instructions.Stage, from string) bool {
	if n, err := strconv.Atoi(from); err == nil {
		return n >= 0 && n < len(earlier)
	}
	for _, st := range earlier {
		if strings.EqualFold(st.Name, from) {
			return true
		}
	}
	return false
}

func checkStartCommands(file string, stages []instructions.Stage) []issue {
	var findings []issue
	for _, st := range stages {
		for _, cmd := range st.Commands {
			var shellForm bool
			var argv []string
			switch c := cmd.(type) {
			case *instructions.CmdCommand:
				shellForm, argv = c.PrependShell, c.CmdLine
			case *instructions.EntrypointCommand:
				shellForm, argv = c.PrependShell, c.CmdLine
			default:
				continue
			}
			if shellForm {
				exec, _ := json.Marshal(strings.Fields(strings.Join(argv, " ")))
				findings = append(findings, finding(file, cmd.Location()[0].Start.Line,
					fmt.Sprintf("%s uses the shell form, so /bin/sh is PID 1 and the app never gets SIGTERM", strings.ToUpper(cmd.Name())),
					fmt.Sprintf("write the exec form, e.g. %s %s", strings.ToUpper(cmd.Name()), exec)))
			}
		}
	}
	return findings
}

// checkFinalUser: the image's last stage sets a USER, and not root (by name or uid 0).
func checkFinalUser(file string, final instructions.Stage) []issue {
	var last *instructions.UserCommand
	for _, cmd := range final.Commands {
		if u, ok := cmd.(*instructions.UserCommand); ok {
			last = u
		}
	}
	if last == nil {
		return []issue{finding(file, final.Location[0].Start.Line, "the final stage sets no USER, so the container runs as root",
			"add USER <uid>:<gid> of an unprivileged user after the last RUN")}
	}
	name := strings.SplitN(last.User, ":", 2)[0]
	if name == "root" || name == "0" || strings.Contains(name, "$") {
		return []issue{finding(file, last.Location()[0].Start.Line, fmt.Sprintf("the final stage runs as USER %s", last.User),
			"switch to an unprivileged user with a literal uid, e.g. USER 10001:10001")}
	}
	return nil
}

// lineOf is the first Dockerfile line an error from BuildKit's parser points at, else 1.
func lineOf(err error) int {
	var located *parser.LocationError
	if errors.As(err, &located) {
		for _, loc := range located.Locations {
			if len(loc) > 0 && loc[0].Start.Line > 0 {
				return loc[0].Start.Line
			}
		}
	}
	return 1
}
