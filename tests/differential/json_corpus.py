"""Generated JSON events, decoded by simplejson (awslambdaric's decoder) and by the bootstrap's
src/runtime_json.py, in the oracle's interpreter (the same Python version as the bootstrap's, so the
same _json scanner underneath). Run as a script by test_json_corpus.py: prints the mismatches as
JSON lines, then a summary line.

    DIFF_ORACLE_PYTHON json_corpus.py SRC_DIR [SEED] [COUNT]
"""

import json
import random
import sys

BASE = ['{"a": [1, 2, {"b": "c\\u00e9"}], "d": null, "e": true, "f": -1.5e3}', '[1, 2, 3]', '{"k": "v"}',
        '"str\\n"', '[[], {}, [{}]]', '{"a": {"b": {"c": [1, {"d": 2}]}}}', '{"n": [1e5, -0, 0.5E-3]}']
HAND = ['[NaN]', '[1, -Infinity]', '{"a": Infinity}', '"NaN"', '[-NaN]', 'NaN', '[1,2', '{"a" 1}', '\ufeff{"a":1}',
        '{"s": "a\x01b"}', '{"s": "\x1f"}', '[1] x', '  [1]  x  ', '{"a":1}}', '', '   ', 'tru', '"abc', '"\\x"',
        '"\\ud800"', '[1,]', '{"a":1,}', '01', '1.', '-', '"\\u12"', '{not json', '{"a":1 "b":2}', '[1 2]',
        '{"a":[1,2}', '[{"a":1]', '{,}', '[,]', '{"a":}', '{"a"', '[', '{', '"\\', '"\\u"', '1e', '1e+', '-a',
        '{"a":1,,"b":2}', '[1,,2]', '{"a":1}\n\nx', 'nul', 'fals', '[true,false,null,]', '{"\\ud800":1}',
        '"\t"', '"a\nb"', '[1e400]', '[-0.0]', '{"a":NaN}', '["Infinity", Infinity]', '\ufeff', '\ufeff\ufeff1',
        '{"a":1}\n{"b":2}', '[1]\n  ,', '123abc', '[0x10]', "['a']", '{a:1}', '[.5]', '[+1]', '[1.e5]',
        '[' * 3000 + ']' * 3000, '{"a":' * 3000 + '1' + '}' * 3000]
ALPHABET = '[]{},:"\\ 0123456789.eE+-truefalsnNaIiy\n\tx\x01\ufeff'


def corpus(seed, count):
    rnd = random.Random(seed)
    out = list(HAND)
    for _ in range(count):
        s = list(rnd.choice(BASE))
        for _ in range(rnd.randint(1, 3)):
            op, i = rnd.random(), rnd.randrange(len(s) + 1)
            if op < 0.4 and s:
                del s[min(i, len(s) - 1)]
            elif op < 0.8:
                s.insert(i, rnd.choice(ALPHABET))
            elif s:
                s[min(i, len(s) - 1)] = rnd.choice(ALPHABET)
        out.append("".join(s))
    return out


def outcome(loads, text):
    try:
        return ["ok", repr(loads(text))]
    except RecursionError as e:
        return ["RecursionError", str(e)]
    except ValueError as e:
        return ["ValueError", str(e)]


def main():
    sys.path.insert(0, sys.argv[1])
    import runtime_json  # src/runtime_json.py: importable as it is (only builtin modules at import)
    import simplejson

    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 12
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 3000
    texts = corpus(seed, count)
    mismatches = 0
    for text in texts:
        a, b = outcome(simplejson.loads, text), outcome(runtime_json.json_loads, text)
        if a != b:
            mismatches += 1
            print(json.dumps({"input": text[:200], "simplejson": a, "bootstrap": b}))
    print(json.dumps({"inputs": len(texts), "mismatches": mismatches}))


if __name__ == "__main__":
    main()
